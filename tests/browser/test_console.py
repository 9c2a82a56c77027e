"""The community managers' live console (the moderation overview) in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_faces import moderation_history, start_conversation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def manager_page(new_page, base, username="carol", viewport=None):
    from django.contrib.auth import get_user_model

    from tests.support import authenticator_for, totp_code

    user = get_user_model().objects.get(username=username)
    authenticator_for(user)
    page = new_page(viewport=viewport)
    page.goto(base + "/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo-pass-123")
    page.get_by_role("button", name="Log in").click()
    # Two-factor sign-in, required of managers (chatplatform/mfa.py): the authenticator's code.
    page.get_by_label("Code").fill(totp_code(user))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    return page


def open_console(page):
    page.get_by_role("link", name="Moderation overview").click()
    expect(page.get_by_role("heading", name="Moderation overview")).to_be_visible()
    expect(page.locator("#console-status")).to_have_attribute("data-state", "open")


def test_an_alert_raised_by_an_expert_appears_live_and_is_acknowledged_in_place(live_server_url, new_page, screenshot):
    moderation_history()
    manager = manager_page(new_page, live_server_url)
    open_console(manager)
    from moderation.models import Alert

    before = Alert.objects.exclude(status="closed").count()  # the expert's alert and one per block
    expect(manager.locator("#count-alerts")).to_have_text(str(before))
    expect(manager.locator("#alerts-body tr")).to_have_count(before)

    # The expert alerts the managers from the dashboard (the expert socket).
    expert, visitor, widget, panel = start_conversation(new_page, live_server_url)
    panel.get_by_role("button", name="Alert managers…").click()
    expert.locator("#alert-note").fill("Asks for my phone number again and again")
    expert.get_by_role("button", name="Send the alert").click()
    expect(expert.locator("#toast")).to_contain_text("alerted")

    row = manager.locator("#alerts-body tr", has_text="Asks for my phone number")
    expect(row).to_be_visible()  # no reload
    expect(row).to_contain_text("Raised by an expert")
    expect(row).to_contain_text("Alice")
    expect(row.locator("td").first).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$"))
    expect(manager.locator("#count-alerts")).to_have_text(str(before + 1))
    expect(manager).to_have_title(re.compile(rf"^\({before + 1}\) "))
    screenshot(manager, "console", full_page=True)

    row.get_by_role("button", name="Acknowledge").click()
    expect(row.locator(".alert-status")).to_have_text("acknowledged")
    expect(row.get_by_role("button", name="Acknowledge")).to_have_count(0)
    assert Alert.objects.get(note__startswith="Asks for my phone").status == "acknowledged"
    assert manager.errors == []


def test_the_console_says_when_it_is_reconnecting(live_server_url, new_page):
    manager = manager_page(new_page, live_server_url)
    open_console(manager)
    manager.context.set_offline(True)
    expect(manager.locator("#console-status")).to_have_text(re.compile("Offline|reconnecting"))
    manager.context.set_offline(False)
    expect(manager.locator("#console-status")).to_have_attribute("data-state", "open")


def test_the_blocks_list_fits_a_1366_pixel_screen(live_server_url, new_page, screenshot):
    moderation_history()
    from django.contrib.auth import get_user_model

    from moderation import services
    from visitors.models import Brand, Visitor

    brand = Brand.objects.get(slug="acme")
    carol = get_user_model().objects.get(username="carol")
    for n in range(3):  # the widest a row gets: a 40-character nickname, a long reason, a manager's name
        visitor = Visitor.objects.create(brand=brand, token_hash=f"wide-{n}", nickname=f"A very long visitor nickname number {n:04d}")
        services.block_visitor_as_manager(user=carol, visitor=visitor, reason="Insults, threats and spam links " * 20,
                                          duration_hours=None if n else 24 * 365)
    page = manager_page(new_page, live_server_url, viewport={"width": 1366, "height": 768})
    page.goto(live_server_url + "/admin/moderation/block/")
    expect(page.locator("#result_list")).to_contain_text("A very long visitor nic\u2026")
    screenshot(page, "blocks")
    # The admin scrolls a wide table inside its box: nothing may hide past the box's right edge.
    widths = page.evaluate("""[document.querySelector('.results').scrollWidth, document.querySelector('.results').clientWidth,
                               document.documentElement.scrollWidth]""")
    assert widths[0] <= widths[1] and widths[2] <= 1366, widths
