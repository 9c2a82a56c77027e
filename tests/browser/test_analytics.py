"""/admin/analytics/ in a real browser: the heat map is drawn and a table's CSV link downloads it."""

import csv
import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_console import manager_page
from tests.browser.test_faces import moderation_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def a_month_of_questions():
    """About forty questions over the last four weeks on the demo brand, busier on weekday evenings."""
    from django.utils import timezone

    from experts.models import ExpertProfile, Topic
    from tests.analytics.data import make_conversation
    from visitors.models import Brand

    brand = Brand.objects.get(slug="acme")
    alice, bob = (ExpertProfile.objects.get(user__username=name) for name in ("alice", "bob"))
    topics = list(Topic.objects.filter(brand=brand).order_by("slug")) + [None]
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    for n in range(42):
        day = 1 + n % 27
        hour = [9, 12, 18, 19, 20, 21][n % 6] if n % 7 else 14
        expert = [alice, bob, None][n % 3]
        answers = [(expert, 40 + 35 * (n % 9))] if expert else []
        make_conversation(brand, midnight - timedelta(days=day) + timedelta(hours=hour, minutes=n), topic=topics[n % len(topics)],
                          expert=expert, rating=[5, 4, 5, 3, 4, 2, 5][n % 7] if expert else None, answers=answers,
                          nickname=f"Visitor {n}")


def test_the_analytics_page_draws_the_heat_map_and_downloads_a_table(live_server_url, new_page, screenshot):
    moderation_history()
    a_month_of_questions()
    page = manager_page(new_page, live_server_url)
    page.get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", name="Analytics")).to_be_visible()

    page.get_by_label("Brand").select_option(label="Acme Outdoor")
    page.get_by_label("Period").select_option(label="Last 30 days")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".analytics-period")).to_contain_text("Acme Outdoor")
    heat_map = page.get_by_role("img", name="Busy hours: questions per weekday and hour")
    expect(heat_map).to_be_visible()
    expect(heat_map.locator("rect.cell")).to_have_count(7 * 24)
    assert heat_map.locator("rect.cell:not([data-count='0'])").count() > 5
    expect(page.locator("#figure-asked")).to_have_text("49")  # 42 here, 7 from the moderation history
    expect(page.get_by_role("img", name="Conversations answered per expert")).to_be_visible()
    # The time zone the server runs in is the one chosen when the manager chose none.
    expect(page.get_by_label("Time zone")).to_have_value("UTC")

    tracked = SCREENSHOTS / "analytics.png"
    before = tracked.stat().st_mtime_ns if tracked.exists() else None
    screenshot(page, "analytics", full_page=True)
    # `make test` leaves the tracked screenshots alone; `make screenshots` (SCREENSHOTS=1) rewrites them.
    assert tracked.exists()
    assert (tracked.stat().st_mtime_ns != before) == (os.environ.get("SCREENSHOTS") == "1")

    with page.expect_download() as download:
        page.locator("#experts-title").get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename.startswith("analytics-experts-acme-")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[0] == ["expert", "conversations answered", "messages", "rated", "average rating"]
    assert sorted(row[0] for row in rows[1:]) == ["Alice", "Bob"]
    assert page.errors == []

    # The console's screenshot is taken by tests/browser/test_console.py; the docs show both.
    assert (SCREENSHOTS / "console.png").exists()
