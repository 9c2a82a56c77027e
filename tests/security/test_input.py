"""Input no database or reader can use: refused with a clear error, never a 500, and nothing stored."""

import pytest
from channels.db import database_sync_to_async

from tests.moderation.sockets import active_conversation

pytestmark = pytest.mark.django_db(transaction=True)

# Each shows nothing on a screen: zero-width space, joiners, word joiner, BOM; Hangul filler;
# a bidi override; a combining mark alone; a soft hyphen; the braille blank; a no-break space.
INVISIBLE_TEXTS = ["\u200b", "\u200b\u200c\u200d\u2060\ufeff", "\u3164\u3164", "\u202e", "\u034f\u0301", "\u00ad", "\u2800", "\u00a0\u200b "]


@pytest.mark.parametrize("text", INVISIBLE_TEXTS)
async def test_a_message_of_only_invisible_characters_is_refused_as_blank(connect, brand, alice, text):
    # Guards against: a "blank" message slipping past the blank check in zero-width clothing.
    from visitors.models import Message

    visitor, expert, conversation_id = await active_conversation(connect, alice)
    error = await visitor.error({"type": "message.send", "text": text, "client_id": "invisible"})
    assert error["code"] == "invalid_field" and "text" in error["detail"]
    error = await expert.error({"type": "message.send", "conversation": conversation_id, "text": text, "client_id": "x"})
    assert error["code"] == "invalid_field"
    assert not await database_sync_to_async(Message.objects.filter(client_id__in=["invisible", "x"]).exists)()
    error = await visitor.error({"type": "conversation.start", "text": text, "client_id": "start"})
    assert error["code"] == "invalid_field"


async def test_visible_text_with_invisible_characters_in_it_is_kept_as_sent(connect, brand, alice):
    visitor, _, _ = await active_conversation(connect, alice)
    text = "ok\u200d👍 e\u0301"
    message = await visitor.request({"type": "message.send", "text": text, "client_id": "seen"}, "message")
    assert message["message"]["text"] == text


async def test_an_invisible_nickname_is_no_nickname(connect, brand):
    visitor = await connect.visitor(nickname="\u200b\u3164")
    assert visitor.welcome["visitor"]["nickname"] is None
