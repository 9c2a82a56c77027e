"""The server's PostgreSQL connections: bounded however many HTTP requests it serves, renewed after a failover.

Django's ASGI handler runs each request's view on a thread of its own. A
connection kept open past the request (CONN_MAX_AGE) then belongs to a thread
that is gone: it stays open until the garbage collector, tuned to run rarely
(chatplatform/gc_tuning.py), happens to collect it. Two hundred sign-ins one
after the other ran PostgreSQL out of connections ("too many clients").
"""

import asyncio
import io
import json
import urllib.request

import pytest
import websockets
from channels.db import database_sync_to_async
from django.db import connection

from tests.e2e.servers import daphne_server
from tests.support import session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def manager(db, django_user_model):
    from django.core.management import call_command

    call_command("create_community_manager", "carol", password="pw-carol-123", stdout=io.StringIO())
    return django_user_model.objects.get(username="carol")


# The server's connections name themselves (libpq reads PGAPPNAME), so the test's own are never counted nor ended.
SERVER = {"PGAPPNAME": "chat-server-under-test"}


def server_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [SERVER["PGAPPNAME"]])
        return cursor.fetchone()[0]


def test_hundreds_of_requests_leave_a_bounded_number_of_connections(brand):
    with daphne_server(**SERVER) as base:
        for n in range(300):
            path = "/widget/acme/" if n % 2 else "/login/"
            with urllib.request.urlopen(base + path, timeout=10) as response:
                assert response.status == 200
        # Each request's connection closes with it: the server holds at most its
        # sockets' own (none here), however many requests came.
        assert server_connections() <= 3


def terminate_server_connections() -> int:
    """What a failover does to the server: PostgreSQL ends every connection it had."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
            [SERVER["PGAPPNAME"]],
        )
        return cursor.fetchone()[0]


async def open_socket(base, path, user):
    cookie = (await database_sync_to_async(session_cookie)(user)).decode()
    ws = await websockets.connect(base.replace("http", "ws") + path, origin=base, additional_headers={"Cookie": cookie})
    async with asyncio.timeout(5):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == "welcome":
                return ws


async def test_after_postgresql_ends_the_servers_connections_the_next_handshakes_and_frames_work(brand, alice, manager):
    # Guards against: each database thread keeping its dead connection after a failover, so the
    # next handshakes failed (1011 on the expert socket, HTTP 500 on the moderation feed).
    with daphne_server(CHAT_DB_THREADS=2, **SERVER) as base:
        expert = await open_socket(base, "/ws/v1/expert/", alice.user)
        feed = await open_socket(base, "/ws/v1/moderation/", manager)
        assert await database_sync_to_async(terminate_server_connections)() >= 2
        for _ in range(3):  # more than the threads: each thread's connection is met
            await (await open_socket(base, "/ws/v1/expert/", alice.user)).close()
            await (await open_socket(base, "/ws/v1/moderation/", manager)).close()
        await expert.send(json.dumps({"type": "presence.set", "status": "away"}))
        async with asyncio.timeout(5):
            while (frame := json.loads(await expert.recv()))["type"] != "presence":
                assert frame["type"] != "error", frame
        assert frame["status"] == "away"
        await feed.send(json.dumps({"type": "alert.ack", "alert": "999999"}))
        async with asyncio.timeout(5):
            assert json.loads(await feed.recv())["code"] == "not_found"
        await expert.close()
        await feed.close()
