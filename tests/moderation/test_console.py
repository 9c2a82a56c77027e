"""The moderation overview and its live feed count in the database, never the length of a capped list."""

import pytest
from channels.db import database_sync_to_async

from moderation import services
from moderation.models import Alert, ReportTicket
from tests.moderation.sockets import moderation_feed
from tests.support import sign_in


def many_alerts(brand, n):
    Alert.objects.bulk_create([Alert(brand=brand, kind=Alert.Kind.FLOOD, note=f"flood {i}") for i in range(n)])


@pytest.mark.django_db(transaction=True)
def test_the_overview_counts_every_open_alert_and_ticket_past_the_fifty_shown(client, manager, brand):
    many_alerts(brand, 60)
    ReportTicket.objects.bulk_create([ReportTicket(brand=brand, category="other", description="x", filed_by="visitor",
                                                   reference=f"R-T{i:06d}") for i in range(55)])
    sign_in(client, manager)
    response = client.get("/admin/moderation/overview/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<strong id="count-alerts">60</strong>' in html
    assert '<strong id="count-reports">55</strong>' in html
    assert html.count("data-alert=") == 50  # the newest shown, with a link to the rest
    assert "all open alerts" in html
    # The console's script is a file of ours (the CSP allows no inline script).
    assert '<script src="/static/moderation/console.js"' in html


@pytest.mark.django_db(transaction=True)
async def test_the_feed_welcome_and_every_change_carry_true_counts(connect, manager, brand, alice):
    await database_sync_to_async(many_alerts)(brand, 120)
    feed = await moderation_feed(connect, manager)
    assert len(feed.welcome["open_alerts"]) == 100
    assert feed.welcome["open_alert_count"] == 120

    alert = await database_sync_to_async(Alert.objects.first)()
    await database_sync_to_async(services.close_alert)(user=manager, alert=alert)
    assert (await feed.recv_type("alert.updated"))["alert"]["status"] == "closed"
    counts = await feed.recv_type("counts")
    assert counts == {"type": "counts", "open_alerts": 119, "open_reports": 0, "active_blocks": 0}

    await database_sync_to_async(services.file_report)(brand=brand, category="other", description="Rude")
    await feed.recv_type("report.created")
    assert (await feed.recv_type("counts"))["open_reports"] == 1
