"""A refused visitor frame changes nothing: after an `error` answer (docs/protocol.md, "Error frame") everything is as it was."""

import pytest

from tests.support import client_id

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("refusal, extra", [("conversation_open", {}), ("invalid_field", {"topic": "no-such-topic"})])
async def test_a_refused_start_leaves_the_nickname_as_it_was(connect, brand, refusal, extra):
    # Guards against: a start refused after the nickname was already changed (the expert sees a name the visitor never got to use).
    visitor = await connect.visitor(nickname="Sam")
    if refusal == "conversation_open":
        await visitor.send({"type": "conversation.start", "text": "First question", "client_id": client_id()})
        await visitor.recv_type("message")
    error = await visitor.error({"type": "conversation.start", "text": "Another", "client_id": "refused", "nickname": "Robin", **extra})
    assert error["code"] == refusal and error["ref"] == "refused"
    if refusal == "conversation_open":
        sent = await visitor.request({"type": "message.send", "text": "Still me", "client_id": "m1"}, "message")
        assert sent["message"]["author_name"] == "Sam"
    again = await connect.visitor(token=visitor.token)
    assert again.welcome["visitor"]["nickname"] == "Sam"
