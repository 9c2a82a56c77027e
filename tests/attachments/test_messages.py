"""A picture in a message: through both sockets, in history, once, only its uploader's; erased with the rest."""

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from tests.attachments import pictures
from tests.attachments.conftest import post_picture
from tests.support import client_id

pytestmark = pytest.mark.django_db(transaction=True)

SHOWN = {"url", "thumbnail_url", "width", "height", "content_type"}


async def _active_chat(connect, alice):
    visitor = await connect.visitor()
    await visitor.send({"type": "conversation.start", "text": "Is this sole worn out?", "client_id": client_id()})
    conversation_id = (await visitor.recv_type("conversation"))["conversation"]["id"]
    await visitor.recv_type("message")
    expert = await connect.expert(alice)
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await visitor.recv_type("conversation")  # now active
    return visitor, expert, conversation_id


def _visitor_upload(token, conversation_id, data=None):
    response = post_picture(Client(), conversation_id, data or pictures.photo(), token=token)
    assert response.status_code == 201, response.content
    return response.json()


def _expert_upload(user, conversation_id):
    client = Client()
    client.force_login(user)
    response = post_picture(client, conversation_id, pictures.photo("PNG", gps=False), name="x.png",
                            content_type="image/png", origin=None)
    assert response.status_code == 201, response.content
    return response.json()


async def test_a_visitors_picture_reaches_the_expert_and_stays_in_history(connect, brand, alice):
    visitor, expert, conversation_id = await _active_chat(connect, alice)
    upload = await database_sync_to_async(_visitor_upload)(visitor.token, conversation_id)
    sent = await visitor.request({"type": "message.send", "attachment": upload["id"], "client_id": "p1"}, "message")
    assert sent["message"]["text"] == "" and set(sent["message"]["attachment"]) == SHOWN
    seen = await expert.recv_type("message")
    assert seen["message"]["seq"] == sent["message"]["seq"]
    assert seen["message"]["attachment"]["thumbnail_url"].startswith(f"/attachments/{upload['id']}/thumbnail/?")
    assert seen["message"]["attachment"]["width"] == upload["width"]
    # The thumbnail URL the expert got opens (an <img> on the dashboard).
    assert (await database_sync_to_async(Client().get)(seen["message"]["attachment"]["thumbnail_url"])).status_code == 200
    # History: a new socket of the same visitor gets it again, signed anew.
    again = await connect.visitor(token=visitor.token)
    history = [m for m in again.welcome["messages"] if m.get("attachment")]
    assert len(history) == 1 and set(history[0]["attachment"]) == SHOWN
    # ... and a text message carries no attachment field at all.
    assert all("attachment" not in m for m in again.welcome["messages"] if m["seq"] != sent["message"]["seq"])
    synced = await expert.request({"type": "sync", "conversation": conversation_id, "after_seq": 0}, "messages")
    assert [m["seq"] for m in synced["messages"] if "attachment" in m] == [sent["message"]["seq"]]


async def test_an_experts_picture_with_text_reaches_the_visitor(connect, brand, alice):
    visitor, expert, conversation_id = await _active_chat(connect, alice)
    upload = await database_sync_to_async(_expert_upload)(alice.user, conversation_id)
    sent = await expert.request({"type": "message.send", "conversation": conversation_id, "text": "Like this one",
                                 "attachment": upload["id"], "client_id": "e1"}, "message")
    got = await visitor.recv_type("message")
    assert got["message"]["seq"] == sent["message"]["seq"] and got["message"]["text"] == "Like this one"
    assert got["message"]["attachment"]["content_type"] == "image/png"


async def test_a_picture_is_sent_once_and_only_by_its_uploader(connect, brand, alice):
    from visitors.models import Message

    visitor, expert, conversation_id = await _active_chat(connect, alice)
    upload = await database_sync_to_async(_visitor_upload)(visitor.token, conversation_id)
    # The expert cannot send the visitor's picture as theirs.
    refused = await expert.error({"type": "message.send", "conversation": conversation_id, "attachment": upload["id"],
                                  "client_id": "e1"})
    assert refused["code"] == "not_found" and refused["ref"] == "e1"
    await visitor.request({"type": "message.send", "attachment": upload["id"], "client_id": "p1"}, "message")
    # A retry of the same frame is the same message; a new frame with the same picture is refused.
    retry = await visitor.request({"type": "message.send", "attachment": upload["id"], "client_id": "p1"}, "message")
    assert retry["message"]["attachment"]
    twice = await visitor.error({"type": "message.send", "attachment": upload["id"], "client_id": "p2"})
    assert twice["code"] == "invalid_field" and "already" in twice["detail"]
    for bad in ("nonsense", "6f1c1d52-8a8f-4a53-9e0e-000000000000"):
        error = await visitor.error({"type": "message.send", "attachment": bad, "client_id": client_id()})
        assert error["code"] == "not_found"
    count = await database_sync_to_async(Message.objects.filter(attachment__isnull=False).count)()
    assert count == 1


async def test_a_picture_of_another_conversation_is_not_found(connect, brand, alice, make_expert):
    visitor, _, conversation_id = await _active_chat(connect, alice)
    upload = await database_sync_to_async(_visitor_upload)(visitor.token, conversation_id)
    other = await connect.visitor()
    await other.send({"type": "conversation.start", "text": "Another question", "client_id": client_id()})
    await other.recv_type("message")
    error = await other.error({"type": "message.send", "attachment": upload["id"], "client_id": "x"})
    assert error["code"] == "not_found"


async def test_a_message_needs_a_text_or_a_picture(connect, brand, alice):
    visitor, _, _ = await _active_chat(connect, alice)
    error = await visitor.error({"type": "message.send", "client_id": "empty"})
    assert error["code"] == "invalid_field" and "`text`" in error["detail"]
    error = await visitor.error({"type": "message.send", "text": "", "attachment": None, "client_id": "empty2"})
    assert error["code"] == "invalid_field"
    error = await visitor.error({"type": "message.send", "text": "hi", "attachment": 5, "client_id": "num"})
    assert error["code"] == "invalid_field" and "`attachment`" in error["detail"]
