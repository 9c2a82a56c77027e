"""Accounts in a real browser: a manager's two-factor set-up at first sign-in, an invited expert joining."""

import base64
import re
import time

import pytest
from playwright.sync_api import expect

from tests.support import rfc6238

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_sets_up_two_factor_at_first_sign_in_and_reaches_the_admin(live_server_url, new_page, screenshot):
    page = new_page()
    page.goto(live_server_url + "/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill("demo-pass-123")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.get_by_role("img", name="QR code of the key below")).to_be_visible()
    screenshot(page, "two-factor-setup", full_page=True)
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    # What the phone's app shows now.
    page.get_by_label("2. Type the code the app shows").fill(rfc6238(key, int(time.time()) // 30))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()

    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.get_by_test_id("recovery-codes").locator("li")
    expect(codes).to_have_count(10)
    page.get_by_role("link", name="I have saved them: continue").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    assert page.errors == []


def test_an_invited_expert_opens_the_link_chooses_a_password_and_lands_on_the_dashboard(live_server_url, new_page,
                                                                                       settings, screenshot):
    from django.core import mail

    from experts import invitations
    from experts.models import Topic
    from visitors.models import Brand
    from tests.support import run_worker_once

    brand = Brand.objects.get(slug="acme")
    invitations.invite_expert(email="dana@example.test", brand=brand, topics=Topic.objects.filter(slug="sizing"),
                              invited_by=None)
    settings.SECRET_KEY = "browser-test-key-not-secret"  # the server's (tests/browser/conftest.py): it signs the link
    run_worker_once()
    link = re.search(r"http://\S+/join/\S+/", mail.outbox[-1].body).group(0)
    page = new_page()
    page.goto(live_server_url + link.split("localhost:8000", 1)[1])
    expect(page.get_by_role("heading", name="Join Acme Outdoor's community experts")).to_be_visible()
    expect(page.get_by_label("Sizing and fit")).to_be_checked()
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Display name").fill("Dana")
    page.get_by_label("Password", exact=True).fill("tread-lightly-42")
    page.get_by_label("The same password again").fill("tread-lightly-42")
    screenshot(page, "invitation-join", full_page=True)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_text("Welcome, Dana: your account is ready.")).to_be_visible()
    assert page.url.endswith("/dashboard/")
