"""A database error on a socket's path outside its frames (handshake, layer event) closes with 1012, never 1011.

1012 tells the client to reconnect and resume; 1011 (and HTTP 500 for a
handshake) says the server failed. After a failover the next attempt works
(tests/faults/test_db_connections.py, against a real daphne on PostgreSQL).
"""

import io

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import OperationalError

from chatplatform.consumers import CLOSE_GOING_AWAY
from chatplatform.groups import expert_group
from tests.support import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def failing(*args, **kwargs):
    raise OperationalError("terminating connection due to administrator command")


@pytest.fixture
def manager(db, django_user_model):
    from django.core.management import call_command

    call_command("create_community_manager", "carol", password="pw-carol-123", stdout=io.StringIO())
    return django_user_model.objects.get(username="carol")


async def test_a_database_error_in_the_moderation_handshake_closes_with_1012_and_the_next_one_works(connect, manager, monkeypatch):
    from moderation import selectors

    real = selectors.can_moderate
    monkeypatch.setattr(selectors, "can_moderate", failing)
    cookie = await database_sync_to_async(session_cookie)(manager)
    headers = [(b"cookie", cookie), (b"host", b"testserver"), (b"origin", b"http://testserver")]
    socket, connected, _ = await connect.raw("/ws/v1/moderation/", headers)
    assert connected  # accepted, so that the client hears 1012 rather than a refused handshake
    assert await socket.closed_with() == CLOSE_GOING_AWAY
    monkeypatch.setattr(selectors, "can_moderate", real)
    assert (await connect.moderation(manager)).welcome["type"] == "welcome"


async def test_a_database_error_in_a_layer_resync_closes_the_expert_socket_with_1012(connect, brand, alice, monkeypatch):
    # Seen in the outside run: a `layer.resync` after a Redis drop closed live sockets with 1011.
    from experts import socket_actions

    expert = await connect.expert(alice)
    await expert.send({"type": "presence.set", "status": "online"})
    await expert.recv_type("presence")
    monkeypatch.setattr(socket_actions, "_queue_state", failing)
    await get_channel_layer().group_send(expert_group(alice.pk), {"type": "layer.resync"})
    assert await expert.closed_with() == CLOSE_GOING_AWAY


def test_a_database_error_in_a_page_answers_503_with_retry_after_and_the_next_request_works(client, brand, monkeypatch):
    from visitors import selectors

    real = selectors.get_active_brand
    monkeypatch.setattr(selectors, "get_active_brand", failing)
    response = client.get("/widget/acme/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    monkeypatch.setattr(selectors, "get_active_brand", real)
    assert client.get("/widget/acme/").status_code == 200
