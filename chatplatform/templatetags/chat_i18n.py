"""Template filters that show stored chat rows in the reader's language (the active one)."""

from django import template
from django.utils.translation import gettext, pgettext_lazy

from chatplatform.i18n import SYSTEM_AUTHOR, render_system

register = template.Library()

# Who ended a conversation (Conversation.ended_by), as a reader sees it.
ENDED_BY = {
    "visitor": pgettext_lazy("ended by", "the visitor"),
    "expert": pgettext_lazy("ended by", "the expert"),
    "moderator": pgettext_lazy("ended by", "a community manager"),
    "system": pgettext_lazy("ended by", "the system"),
}


@register.filter
def text_for_reader(message) -> str:
    """A message's text; a system message's rendered from its code in the reader's language."""
    system = getattr(message, "system", None)
    if system:
        text = render_system(system.get("code", ""), system.get("params"))
        if text is not None:
            return text
    return message.text


@register.filter
def author_name_for_reader(message) -> str:
    if getattr(message, "author", None) == "system" and message.author_name == SYSTEM_AUTHOR:
        return gettext(SYSTEM_AUTHOR)
    return message.author_name


@register.filter
def ended_by_label(value) -> str:
    return ENDED_BY.get(value, value or "—")
