"""Message text as HTML: escaped, with http(s) URLs as safe links and nothing else as markup."""

import pytest
from django.template import Context, Template

from chatplatform.links import linkify

REL = 'rel="noopener noreferrer nofollow" target="_blank"'


def link(url, text=None):
    return f'<a href="{url}" {REL}>{text or url}</a>'


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("see https://example.com/guide", "see " + link("https://example.com/guide")),
        ("http://example.com/a?b=1&c=2", link("http://example.com/a?b=1&amp;c=2")),
        # The sentence's punctuation stays outside; a bracket the URL opens stays inside.
        ("Read https://example.com/a.", "Read " + link("https://example.com/a") + "."),
        ("(https://example.com/x)", "(" + link("https://example.com/x") + ")"),
        ("https://en.wikipedia.org/wiki/Lug_(shoe), ok", link("https://en.wikipedia.org/wiki/Lug_(shoe)") + ", ok"),
        ("two: https://a.example and https://b.example!", "two: " + link("https://a.example") + " and " + link("https://b.example") + "!"),
        ("HTTPS://EXAMPLE.COM", link("HTTPS://EXAMPLE.COM")),
    ],
)
def test_http_urls_become_safe_links(text, html):
    assert linkify(text) == html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("<b>html</b>", "&lt;b&gt;html&lt;/b&gt;"),
        ("javascript:alert(1)", "javascript:alert(1)"),
        ("data:text/html,<script>x</script>", "data:text/html,&lt;script&gt;x&lt;/script&gt;"),
        ("ftp://example.com/file", "ftp://example.com/file"),
        ("www.example.com", "www.example.com"),
        ("xhttps://example.com", "xhttps://example.com"),  # glued to a word: not a URL of its own
        ("https://bank.example@evil.example/login", "https://bank.example@evil.example/login"),  # credentials trick
        ("https://", "https://"),
        ("https://example.com:99999/", "https://example.com:99999/"),
        ('https://example.com/"onmouseover="alert(1)', link("https://example.com/") + "&quot;onmouseover=&quot;alert(1)"),
        ("https://example.com/<script>", link("https://example.com/") + "&lt;script&gt;"),
    ],
)
def test_nothing_else_becomes_markup(text, html):
    assert linkify(text) == html


def test_the_template_filter_escapes_and_links():
    rendered = Template("{% load chat_look %}<p>{{ text|links }}</p>").render(
        Context({"text": "<i>x</i> https://example.com/?q=<b>"})
    )
    assert rendered == "<p>&lt;i&gt;x&lt;/i&gt; " + link("https://example.com/?q=") + "&lt;b&gt;</p>"


def test_the_avatar_tag_shows_initials_under_an_https_picture_only():
    template = Template("{% load chat_look %}{% avatar name url 40 %}")
    plain = template.render(Context({"name": "Alice Martin", "url": ""}))
    assert ">AM<" in plain and "<img" not in plain and "background: #" in plain
    picture = template.render(Context({"name": "Alice", "url": "https://img.example/a.png"}))
    assert '<img class="avatar-img" src="https://img.example/a.png"' in picture and ">A<img" in picture
    for url in ["javascript:alert(1)", "http://img.example/a.png", "data:image/png;base64,AAAA"]:
        assert "<img" not in template.render(Context({"name": "Alice", "url": url}))
    hostile = template.render(Context({"name": "<>", "url": ""}))  # no letter: its first character, escaped
    assert ">&lt;</span>" in hostile
