"""Password reset by e-mail: through the worker, the same answer for any address, throttled."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from tests.accounts.conftest import MANAGER_PASSWORD
from tests.support import authenticator_for, run_worker_once

pytestmark = pytest.mark.django_db(transaction=True)  # the worker runs its tasks in transactions of its own

NEW_PASSWORD = "new-laces-for-me-7"


@pytest.fixture(autouse=True)
def _fresh_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def expert_with_email(alice):
    alice.user.email = "alice@example.test"
    alice.user.save()
    return alice


def reset_link() -> str:
    assert len(mail.outbox) == 1
    return re.search(r"http://localhost:8000(/password-reset/[^\s]+/)", mail.outbox[0].body).group(1)


def test_an_expert_resets_their_password_through_the_e_mailed_link(client, expert_with_email):
    response = client.post("/password-reset/", {"email": "ALICE@example.test"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []  # queued for the worker, not sent from the request
    run_worker_once()
    assert mail.outbox[0].to == ["alice@example.test"]
    link = reset_link()

    form = client.get(link, follow=True)
    assert form.status_code == 200 and "Choose a new password" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/password-reset/done/"

    assert Client().post("/login/", {"username": "alice", "password": NEW_PASSWORD})["Location"] == "/dashboard/"
    assert Client().post("/login/", {"username": "alice", "password": "pw-alice"}).status_code == 200
    # The link worked once.
    used = Client().get(link, follow=True)
    assert "This link does not work" in used.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, expert_with_email):
    known = client.post("/password-reset/", {"email": "alice@example.test"}, follow=True)
    unknown = Client().post("/password-reset/", {"email": "nobody@example.test"}, follow=True)
    assert known.status_code == unknown.status_code == 200
    assert known.redirect_chain == unknown.redirect_chain
    assert known.content == unknown.content
    run_worker_once()
    assert [m.to for m in mail.outbox] == [["alice@example.test"]]


def test_a_managers_reset_still_asks_for_the_code_at_sign_in(client, manager):
    authenticator_for(manager)
    client.post("/password-reset/", {"email": "carol@example.test"})
    run_worker_once()
    form = client.get(reset_link(), follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    fresh = Client()
    response = fresh.post("/login/", {"username": "carol", "password": NEW_PASSWORD, "next": "/admin/"})
    assert response["Location"].startswith("/login/code/")
    assert fresh.get("/admin/").status_code == 302
    assert MANAGER_PASSWORD  # the old one no longer works:
    assert Client().post("/login/", {"username": "carol", "password": MANAGER_PASSWORD}).status_code == 200


def test_requests_for_one_address_are_throttled_whether_or_not_it_has_an_account(settings, expert_with_email):
    settings.CHAT_PASSWORD_RESET_PER_EMAIL = 3
    for email in ("alice@example.test", "nobody@example.test"):
        answers = [Client().post("/password-reset/", {"email": email}, REMOTE_ADDR=f"192.0.2.{i}").status_code
                   for i in range(4)]
        assert answers == [302, 302, 302, 429]
    run_worker_once()
    assert len(mail.outbox) == 3


def test_requests_from_one_address_are_throttled(settings, expert_with_email):
    settings.CHAT_PASSWORD_RESET_PER_ADDRESS = 5
    answers = [Client().post("/password-reset/", {"email": f"u{i}@example.test"}, REMOTE_ADDR="198.51.100.7").status_code
               for i in range(6)]
    assert answers == [302] * 5 + [429]
    throttled = Client().post("/password-reset/", {"email": "alice@example.test"}, REMOTE_ADDR="198.51.100.7")
    assert throttled.status_code == 429 and "Too many" in throttled.content.decode()
    assert Client().post("/password-reset/", {"email": "alice@example.test"}, REMOTE_ADDR="203.0.113.1").status_code == 302


@pytest.mark.parametrize("email", ["", "not-an-address", "a" * 300 + "@example.test"])
def test_a_malformed_address_is_a_clear_error(client, email):
    response = client.post("/password-reset/", {"email": email})
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()


def test_a_tampered_reset_link_gets_a_clear_page(client, expert_with_email):
    client.post("/password-reset/", {"email": "alice@example.test"})
    run_worker_once()
    link = reset_link()
    bad = link[:-3] + ("a" if link[-3] != "a" else "b") + link[-2:]
    page = client.get(bad, follow=True)
    assert page.status_code == 200 and "This link does not work" in page.content.decode()
