"""``{% load chat_look %}``: message text with safe links, and a person's picture or initials."""

from django import template
from django.utils.html import format_html

from chatplatform import look
from chatplatform.links import linkify

register = template.Library()


@register.filter(is_safe=True)
def links(text):
    """Message text escaped, with its http(s) URLs as safe links (chatplatform/links.py)."""
    return linkify(text)


@register.simple_tag
def avatar(name, url="", size=32):
    """The person's initials on a colour drawn from the name, under their https picture if they have one.

    Never a blank: a picture that fails to load leaves the initials showing (no script needed).
    """
    size = int(size)
    picture = ""
    if url and str(url).lower().startswith("https://"):
        picture = format_html('<img class="avatar-img" src="{}" alt="" width="{}" height="{}" data-initials="{}">',
                              url, size, size, look.initials(name))
    return format_html(
        '<span class="avatar avatar-initials" aria-hidden="true" style="background: {}; width: {}px; height: {}px; '
        'font-size: {}px">{}{}</span>',
        look.avatar_color(name), size, size, max(10, size * 2 // 5), look.initials(name), picture,
    )
