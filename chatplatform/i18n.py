"""Languages and time zones: which language a reader gets, system messages rendered per reader, the JS catalogue.

A system message (a warning, a sweep's notice) is stored with a stable code and
its parameters beside an English text (``Message.system``, docs/protocol.md);
each socket renders it in its own reader's language when it sends it, so the
same stored row reaches a French visitor in French and an English expert in
English. Codes are contract, like error codes: never renamed, only added.
"""

import zoneinfo
from urllib.parse import parse_qs

from django.conf import settings
from django.utils import timezone, translation
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext, gettext_lazy, gettext_noop, ngettext_lazy
from django.views.i18n import JavaScriptCatalog

from chatplatform.error_texts import ERROR_TEXTS

# The `tz` cookie: the browser's IANA zone, set by static/chat/common.js from Intl.DateTimeFormat.
TZ_COOKIE = "tz"


def language_codes() -> list[str]:
    """The languages this installation has a catalogue for (settings.LANGUAGES)."""
    return [code for code, _name in settings.LANGUAGES]


def supported(code: str | None, choices=None) -> str | None:
    """``code`` (or its base language: fr-CA -> fr) if it is among ``choices``; None otherwise."""
    choices = language_codes() if choices is None else choices
    if not code or not isinstance(code, str):
        return None
    code = code.strip().lower().replace("_", "-")
    for candidate in (code, code.split("-")[0]):
        if candidate in choices:
            return candidate
    return None


def negotiate(accept_language: str | None, choices, default: str) -> str:
    """The first language of an Accept-Language header (by q, then order) among ``choices``, else ``default``."""
    ranked = []
    for position, part in enumerate((accept_language or "")[:1000].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            ranked.append((-quality, position, tag))
    for _q, _p, tag in sorted(ranked):
        found = supported(tag, choices)
        if found:
            return found
    return default


def scope_header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return ""


def socket_language(scope, choices, default: str) -> str:
    """A socket reader's language: the one its page asked for (``?lang=`` in the socket's URL) if among
    ``choices``, else the handshake's Accept-Language among them, else ``default``."""
    asked = parse_qs(scope.get("query_string", b"").decode("latin-1")[:200]).get("lang", [None])[0]
    return supported(asked, choices) or negotiate(scope_header(scope, b"accept-language"), choices, default)


# --- system messages -------------------------------------------------------------------------
# code -> its lazy text; a plural one counts the parameter it names. The English is also what is stored in `text`.
SYSTEM_MESSAGES = {
    "conversation.inactive": ngettext_lazy(
        "This conversation ended after %(minutes)s minute without messages.",
        "This conversation ended after %(minutes)s minutes without messages.",
        "minutes",
    ),
    "conversation.unanswered": ngettext_lazy(
        "No expert was free to answer within %(days)s day, so this question was closed. You are welcome to ask again.",
        "No expert was free to answer within %(days)s days, so this question was closed. You are welcome to ask again.",
        "days",
    ),
    # The brand's politeness reminder when the brand kept the default one (visitors.models.DEFAULT_POLITENESS_REMINDER).
    "moderation.reminder": gettext_lazy(
        "I'm a member of the community. I'm here to help and to share my knowledge. Please remain polite and respectful!"
    ),
}
# The author name shown with a system message (visitors/serializers.py SYSTEM_NAME).
SYSTEM_AUTHOR = gettext_noop("Moderation")


def render_system(code: str, params: dict | None, language: str | None = None) -> str | None:
    """The text of a system message in ``language`` (the active one if None); None for an unknown code."""
    entry = SYSTEM_MESSAGES.get(code)
    if entry is None:
        return None
    with translation.override(language or translation.get_language() or settings.LANGUAGE_CODE):
        try:
            # A lazy plural picks its form from the parameter it names (params must hold it).
            return str(entry % (params or {})) if params else str(entry)
        except (KeyError, TypeError, ValueError):
            return None


def english_system(code: str, params: dict | None = None) -> str:
    """The English text stored beside a system message's code (for old clients, exports and the admin)."""
    text = render_system(code, params, "en")
    if text is None:
        raise ValueError(f"unknown system message code {code!r}")
    return text


def localise_message(message: dict, language: str | None) -> dict:
    """A protocol Message object with its system text (and author name) in ``language``; others unchanged."""
    if not language or message.get("author") != "system":
        return message
    localised = dict(message)
    system = message.get("system")
    if system:
        text = render_system(system.get("code", ""), system.get("params"), language)
        if text is not None:
            localised["text"] = text
    if message.get("author_name") == SYSTEM_AUTHOR:
        with translation.override(language):
            localised["author_name"] = gettext(SYSTEM_AUTHOR)
    return localised


def localise_frame(frame: dict, language: str | None) -> dict:
    """An outbound frame with the system messages it carries (``message``, ``messages``) and an error's
    detail in ``language``. English readers get the frame as it is: what is stored and raised is English."""
    if not language or language == "en":
        return frame
    if frame.get("type") == "error" and frame.get("detail") in ERROR_TEXTS:
        with translation.override(language):
            return {**frame, "detail": gettext(frame["detail"])}
    message = frame.get("message")
    if frame.get("type") == "message" and isinstance(message, dict) and message.get("author") == "system":
        localised = localise_message(message, language)
        return {**frame, **localised, "message": localised}
    messages = frame.get("messages")
    if isinstance(messages, list) and any(isinstance(m, dict) and m.get("author") == "system" for m in messages):
        return {**frame, "messages": [localise_message(m, language) if isinstance(m, dict) else m for m in messages]}
    return frame


# --- time zones ---------------------------------------------------------------------------------

def zone_from_cookie(value: str | None):
    """The IANA zone a `tz` cookie names, or None for a missing or unknown one."""
    if not value or len(value) > 64 or "\x00" in value:
        return None
    try:
        return zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class TimeZoneMiddleware(MiddlewareMixin):
    """Server pages show times in the reader's zone: the `tz` cookie the pages' script sets from the browser.

    Sync and async alike (MiddlewareMixin), as chatplatform.middleware: no thread hop under daphne.
    """

    def process_request(self, request):
        zone = zone_from_cookie(request.COOKIES.get(TZ_COOKIE))
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)


# --- the scripts' catalogue ---------------------------------------------------------------------

class LanguageCatalog(JavaScriptCatalog):
    """``/jsi18n/<language>/``: the djangojs catalogue of one language, whatever the request's own.

    The widget's language is the brand's choice among the browser's (visitors/views.py), not
    LocaleMiddleware's: the page names it in the URL. Same-origin, so the CSP's script-src 'self' allows it.
    """

    # Our catalogue only (LOCALE_PATHS), not every installed app's (the admin's would triple its size).
    packages = ["chatplatform"]

    def get(self, request, *args, **kwargs):
        language = supported(kwargs.get("language")) or settings.LANGUAGE_CODE
        with translation.override(language):
            response = super().get(request, *args, **kwargs)
        response["Cache-Control"] = "public, max-age=3600"
        return response
