"""Two-factor sign-in (chatplatform/mfa.py): required of managers and superusers, optional for experts.

Codes are computed here from the key the set-up page shows (RFC 6238, tests/support.py),
as a phone's authenticator app does.
"""

import base64
import re
import time

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.conftest import MANAGER_PASSWORD
from tests.support import authenticator_for, rfc6238, session_cookie, sign_in, totp_code

pytestmark = pytest.mark.django_db


def code_from_page(html: str) -> str:
    """The current code for the key printed on the set-up page, as an authenticator app would compute it."""
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return rfc6238(key, int(time.time()) // 30)


def password_step(client, username, password, next_url="/admin/"):
    return client.post(f"/login/?next={next_url}", {"username": username, "password": password, "next": next_url})


def test_a_managers_first_sign_in_sets_up_an_authenticator_and_shows_recovery_codes(client, manager):
    response = password_step(client, "carol", MANAGER_PASSWORD)
    assert response.status_code == 302 and response["Location"].startswith("/account/two-factor/setup/")
    # Not signed in by the password alone.
    assert client.get("/admin/").status_code == 302 and "_auth_user_id" not in client.session

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html  # the QR code, drawn on the server (no script)
    wrong = client.post("/account/two-factor/setup/", {"code": "000000" if code_from_page(html) != "000000" else "111111"})
    assert wrong.status_code == 200 and "not right" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=manager, confirmed=True).exists()

    time.sleep(1.1)  # django-otp's throttle after one wrong code
    done = client.post("/account/two-factor/setup/", {"code": code_from_page(html), "next": "/admin/"})
    assert done.status_code == 200
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", done.content.decode())
    assert len(codes) == 10 and StaticToken.objects.filter(device__user=manager).count() == 10
    assert TOTPDevice.objects.filter(user=manager, confirmed=True).count() == 1
    assert client.get("/admin/").status_code == 200


def test_a_manager_with_an_authenticator_needs_its_code_and_a_wrong_one_signs_nobody_in(client, manager):
    authenticator_for(manager)
    response = password_step(client, "carol", MANAGER_PASSWORD)
    assert response["Location"].startswith("/login/code/")
    assert client.get("/dashboard/").status_code == 302  # nobody signed in yet
    wrong = client.post("/login/code/", {"code": "12345"})
    assert wrong.status_code == 200 and "not right" in wrong.content.decode()
    assert "_auth_user_id" not in client.session
    time.sleep(1.1)
    right = client.post("/login/code/", {"code": totp_code(manager), "next": "/admin/"})
    assert right.status_code == 302 and right["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_one_code_signs_in_once(manager):
    authenticator_for(manager)
    first, second = Client(), Client()
    password_step(first, "carol", MANAGER_PASSWORD)
    password_step(second, "carol", MANAGER_PASSWORD)
    code = totp_code(manager)
    assert first.post("/login/code/", {"code": code})["Location"] == "/admin/"
    replay = second.post("/login/code/", {"code": code})
    assert replay.status_code == 200 and "_auth_user_id" not in second.session


def test_a_recovery_code_signs_in_once(client, manager):
    from chatplatform import mfa

    authenticator_for(manager)
    codes = mfa.new_recovery_codes(manager)
    password_step(client, "carol", MANAGER_PASSWORD)
    response = client.post("/login/code/", {"code": codes[3].upper()[:4] + " " + codes[3].upper()[4:]})
    assert response.status_code == 302 and client.get("/admin/").status_code == 200
    assert StaticToken.objects.filter(device__user=manager).count() == 9

    again = Client()
    password_step(again, "carol", MANAGER_PASSWORD)
    reused = again.post("/login/code/", {"code": codes[3]})
    assert reused.status_code == 200 and "_auth_user_id" not in again.session


def test_many_wrong_codes_lock_the_code_step_for_a_while(client, manager):
    authenticator_for(manager)
    password_step(client, "carol", MANAGER_PASSWORD)
    for _ in range(4):
        client.post("/login/code/", {"code": "000001"})
    refused = client.post("/login/code/", {"code": totp_code(manager)})
    assert refused.status_code == 200 and "Too many wrong codes" in refused.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("code", ["", "12 34 56 78 90 12 34 56 78 90 12 34", "<script>", "１２３４５６", "12\x0034"])
def test_a_malformed_code_is_a_clear_error(client, manager, code):
    authenticator_for(manager)
    password_step(client, "carol", MANAGER_PASSWORD)
    response = client.post("/login/code/", {"code": code})
    assert response.status_code in (200, 400)  # 400: the NUL, refused before any view
    assert "_auth_user_id" not in client.session
    if response.status_code == 200:
        assert 'role="alert"' in response.content.decode()


def test_the_code_step_without_the_password_step_goes_back_to_sign_in(client, manager):
    authenticator_for(manager)
    for path in ("/login/code/", "/account/two-factor/setup/"):
        assert client.get(path)["Location"] == "/login/"
        assert client.post(path, {"code": totp_code(manager)})["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


def test_the_password_step_expires(client, manager, settings):
    authenticator_for(manager)
    password_step(client, "carol", MANAGER_PASSWORD)
    session = client.session
    session["chat_two_factor_pending"]["at"] -= settings.CHAT_TWO_FACTOR_PENDING_MINUTES * 60 + 1
    session.save()
    assert client.post("/login/code/", {"code": totp_code(manager)})["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


def test_a_password_alone_cannot_replace_an_existing_authenticator(client, manager):
    authenticator_for(manager)
    password_step(client, "carol", MANAGER_PASSWORD)
    response = client.get("/account/two-factor/setup/")
    assert response.status_code == 302 and response["Location"].startswith("/login/code/")
    assert TOTPDevice.objects.filter(user=manager).count() == 1


def test_the_admin_refuses_a_manager_session_that_has_not_passed_two_factor(client, manager, admin_user):
    sign_in(client, manager, two_factor=False)
    for path in ("/admin/", "/admin/moderation/alert/", "/admin/moderation/overview/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/account/two-factor/setup/"), path
    authenticator_for(manager)
    assert client.get("/admin/")["Location"] == "/login/code/?next=%2Fadmin%2F"
    # The code step for this signed-in session, then the admin.
    assert client.post("/login/code/?next=/admin/", {"code": totp_code(manager)})["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200

    superuser = Client()
    sign_in(superuser, admin_user, two_factor=False)
    assert superuser.get("/admin/").status_code == 302


def test_the_admins_own_sign_in_form_asks_for_the_code_too(client, manager):
    authenticator_for(manager)
    response = client.post("/admin/login/?next=/admin/", {"username": "carol", "password": MANAGER_PASSWORD, "next": "/admin/"})
    assert response.status_code == 302 and response["Location"].startswith("/login/code/")
    assert client.get("/admin/").status_code == 302


def test_with_chat_manager_mfa_off_a_password_signs_a_manager_in(client, manager, settings):
    settings.CHAT_MANAGER_MFA = False
    response = password_step(client, "carol", MANAGER_PASSWORD)
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_the_moderation_socket_refuses_a_manager_session_without_two_factor_with_4401(connect, manager):
    cookie = await database_sync_to_async(session_cookie)(manager, two_factor=False)
    headers = [(b"cookie", cookie), (b"host", b"testserver"), (b"origin", b"http://testserver")]
    feed, connected, _ = await connect.raw("/ws/v1/moderation/", headers)
    assert await feed.closed_with() == 4401
    # The same manager, having passed it: the feed opens.
    assert (await connect.moderation(manager)).welcome["type"] == "welcome"


@pytest.mark.django_db(transaction=True)
async def test_the_moderation_socket_opens_without_two_factor_when_it_is_off(connect, manager, settings):
    settings.CHAT_MANAGER_MFA = False
    assert (await connect.moderation(manager)).welcome["type"] == "welcome"


@pytest.mark.django_db(transaction=True)
async def test_removing_the_authenticator_closes_an_open_feed_at_the_next_heartbeat(connect, manager, settings):
    settings.CHAT_PRESENCE_HEARTBEAT_SECONDS = 0.2
    feed = await connect.moderation(manager)
    await database_sync_to_async(lambda: TOTPDevice.objects.filter(user=manager).delete())()
    assert (await feed.recv_type("error", timeout=3))["code"] == "forbidden"
    assert await feed.closed_with(timeout=3) == 4401


def test_an_expert_signs_in_with_a_password_until_they_turn_two_factor_on(client, alice):
    assert password_step(client, "alice", "pw-alice", "/dashboard/")["Location"] == "/dashboard/"
    page = client.get("/dashboard/profile/")
    assert 'href="/account/two-factor/"' in page.content.decode()
    assert "Off:" in client.get("/account/two-factor/").content.decode()

    html = client.get("/account/two-factor/setup/").content.decode()
    done = client.post("/account/two-factor/setup/", {"code": code_from_page(html)})
    assert done.status_code == 200 and len(re.findall(r"<li>([a-z2-7]{8})</li>", done.content.decode())) == 10

    later = Client()
    assert password_step(later, "alice", "pw-alice", "/dashboard/")["Location"].startswith("/login/code/")
    assert later.get("/dashboard/").status_code == 302
    assert later.post("/login/code/", {"code": totp_code(alice.user)})["Location"] == "/dashboard/"
    assert later.get("/dashboard/").status_code == 200

    # And off again, from a session that passed it.
    assert later.post("/account/two-factor/", {"action": "disable"}).status_code == 302
    assert not TOTPDevice.objects.filter(user=alice.user).exists()
    assert password_step(Client(), "alice", "pw-alice", "/dashboard/")["Location"] == "/dashboard/"


def test_a_manager_cannot_turn_two_factor_off(client, manager):
    sign_in(client, manager)
    client.post("/account/two-factor/", {"action": "disable"})
    assert TOTPDevice.objects.filter(user=manager, confirmed=True).exists()


def test_new_recovery_codes_replace_the_old_ones(client, manager):
    from chatplatform import mfa

    sign_in(client, manager)
    old = mfa.new_recovery_codes(manager)
    page = client.post("/account/two-factor/", {"action": "codes"})
    new = re.findall(r"<li>([a-z2-7]{8})</li>", page.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert set(StaticToken.objects.filter(device__user=manager).values_list("token", flat=True)) == set(new)


@pytest.mark.django_db(transaction=True)
async def test_an_experts_password_step_alone_opens_no_expert_socket(connect, alice):
    def half_signed_in():
        authenticator_for(alice.user)
        client = Client()
        password_step(client, "alice", "pw-alice", "/dashboard/")
        return client.cookies["sessionid"].value

    cookie = await database_sync_to_async(half_signed_in)()
    headers = [(b"cookie", f"sessionid={cookie}".encode()), (b"host", b"testserver"), (b"origin", b"http://testserver")]
    socket, connected, _ = await connect.raw("/ws/v1/expert/", headers)
    assert await socket.closed_with() == 4401


def test_the_code_step_after_passing_it_goes_on_to_where_the_user_was_going(client, manager):
    sign_in(client, manager)
    assert client.get("/login/code/?next=/admin/")["Location"] == "/admin/"
    assert client.get("/login/code/?next=https://evil.example/")["Location"] == "/dashboard/"  # never off-site


def test_a_superuser_removes_a_managers_lost_authenticator_and_the_next_sign_in_sets_up_anew(admin_client, manager):
    # The recovery path of docs/operations.md: lost phone and recovery codes.
    device = authenticator_for(manager)
    page = admin_client.get("/admin/otp_totp/totpdevice/")
    assert page.status_code == 200 and "carol" in page.content.decode()
    response = admin_client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not TOTPDevice.objects.filter(user=manager).exists()
    assert password_step(Client(), "carol", MANAGER_PASSWORD)["Location"].startswith("/account/two-factor/setup/")


def test_a_manager_cannot_see_or_remove_authenticators(client, manager):
    sign_in(client, manager)
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 403


def test_a_recovery_code_does_not_count_as_a_wrong_app_code(client, manager):
    from chatplatform import mfa

    authenticator_for(manager)
    codes = mfa.new_recovery_codes(manager)
    password_step(client, "carol", MANAGER_PASSWORD)
    client.post("/login/code/", {"code": codes[0]})
    assert TOTPDevice.objects.get(user=manager).throttling_failure_count == 0
    other = Client()
    password_step(other, "carol", MANAGER_PASSWORD)
    assert other.post("/login/code/", {"code": totp_code(manager)})["Location"] == "/admin/"


def test_the_admin_links_a_manager_to_their_two_factor_page(client, manager):
    sign_in(client, manager)
    assert 'href="/account/two-factor/"' in client.get("/admin/").content.decode()
    page = client.get("/account/two-factor/").content.decode()
    assert "recovery codes left" in page and "cannot be turned off" in page
