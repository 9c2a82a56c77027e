"""Message text for HTML pages and e-mails: escaped, with each http(s) URL as a safe link and nothing else as markup.

The same rules as ``ChatCommon.textWithLinks`` in static/chat/common.js (the widget and the
dashboard build the same links in the browser); docs/faces.md, "Links in messages".
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

# An http(s) URL not glued to a word before it; whitespace, <, > and " end it.
URL_IN_TEXT = re.compile(r'(?<![A-Za-z0-9_])https?://[^\s<>"]+', re.IGNORECASE)
TRAILING = re.compile(r"[.,;:!?'\"\u00bb\u201d\u2019*]+$")
CLOSERS = {")": "(", "]": "[", "}": "{"}
LINK_REL = "noopener noreferrer nofollow"


def trim_url(candidate: str) -> str:
    """Drop the sentence's punctuation after a URL, and a closing bracket the URL does not open itself."""
    while True:
        before = candidate
        candidate = TRAILING.sub("", candidate)
        last = candidate[-1:]
        if last in CLOSERS and candidate.count(last) > candidate.count(CLOSERS[last]):
            candidate = candidate[:-1]
        if candidate == before:
            return candidate


def safe_href(candidate: str) -> str | None:
    """The URL to link to, or None: http(s) with a host, no user name or password, nothing unparsable."""
    try:
        parts = urlsplit(candidate)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not hostname or "@" in parts.netloc:
        return None
    return candidate


def linkify(text: str) -> SafeString:
    """``text`` escaped, its http(s) URLs as ``<a href rel="noopener noreferrer nofollow" target="_blank">``."""
    text = str(text or "")
    pieces: list[str] = []
    at = 0
    for match in URL_IN_TEXT.finditer(text):
        if match.start() < at:
            continue
        candidate = trim_url(match.group(0))
        href = safe_href(candidate) if candidate else None
        if href is None:
            continue
        pieces.append(escape(text[at:match.start()]))
        pieces.append(format_html('<a href="{}" rel="{}" target="_blank">{}</a>', href, LINK_REL, candidate))
        at = match.start() + len(candidate)
    pieces.append(escape(text[at:]))
    return mark_safe("".join(pieces))  # every piece above is escaped
