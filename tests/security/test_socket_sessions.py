"""What a signed-in socket's session must be (chatplatform/sessions.py, chatplatform/auth.py)."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.utils import timezone

from tests.security.test_revocation import expert_socket, session_of

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_signed_in_expert_is_welcomed_once_per_socket(connect, brand, alice):
    _, cookie = await session_of(alice.user, "pw-alice")
    first = await expert_socket(connect, cookie)
    second = await expert_socket(connect, cookie)
    assert first.welcome["expert"]["id"] == second.welcome["expert"]["id"] == str(alice.pk)


async def test_an_expired_session_signs_nobody_in(connect, brand, alice):
    # Guards against: a session read without its expiry (the statement's time frozen at its first run).
    _, cookie = await session_of(alice.user, "pw-alice")
    assert (await expert_socket(connect, cookie)).welcome["type"] == "welcome"
    await database_sync_to_async(Session.objects.filter(session_key=cookie).update)(expire_date=timezone.now() - timedelta(seconds=1))
    socket = await expert_socket(connect, cookie, expect_welcome=False)
    assert await socket.closed_with() == 4401


async def test_an_unknown_session_key_signs_nobody_in(connect, brand, alice):
    socket = await expert_socket(connect, "x" * 32, expect_welcome=False)
    assert await socket.closed_with() == 4401


async def test_a_deactivated_users_session_signs_nobody_in(connect, brand, alice):
    # Guards against: the socket's own read of the user skipping ModelBackend's is_active check.
    _, cookie = await session_of(alice.user, "pw-alice")
    alice.user.is_active = False
    await database_sync_to_async(alice.user.save)()
    socket = await expert_socket(connect, cookie, expect_welcome=False)
    assert await socket.closed_with() == 4401


async def test_a_session_of_another_user_id_signs_nobody_in(connect, brand, alice, bob):
    # The session names bob but carries alice's hash: refused, and the session is flushed.
    _, cookie = await session_of(alice.user, "pw-alice")

    def forge():
        from django.contrib.sessions.backends.db import SessionStore

        store = SessionStore(session_key=cookie)
        store["_auth_user_id"] = str(bob.user.pk)
        store.save()

    await database_sync_to_async(forge)()
    socket = await expert_socket(connect, cookie, expect_welcome=False)
    assert await socket.closed_with() == 4401
    assert not await database_sync_to_async(Session.objects.filter(session_key=cookie).exists)()
