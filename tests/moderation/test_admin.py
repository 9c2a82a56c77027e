"""The community managers' admin: what their group may and may not do, and inert hostile text."""

import io

import pytest
from django.core.management import call_command

from experts import services as expert_services
from moderation import services
from moderation.models import Alert, Block, ModerationEvent, ReportTicket
from visitors import services as visitor_services

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def manager(django_user_model):
    call_command("create_community_manager", "carol", password="pw-carol-123", stdout=io.StringIO())
    return django_user_model.objects.get(username="carol")


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def incident(brand, alice):
    """A conversation with hostile text everywhere a visitor can write, blocked and reported."""
    visitor, _ = visitor_services.open_visitor_session(brand=brand, token=None, nickname=HOSTILE[:40], address_hash="")
    conversation = visitor_services.start_conversation(visitor=visitor, text=HOSTILE, client_id="c1")
    expert_services.claim_conversation(expert=alice, conversation_id=conversation.pk)
    services.alert_managers(expert=alice, conversation_id=conversation.pk, note=HOSTILE)
    report = services.file_visitor_report(visitor=visitor, category="other", description=HOSTILE, conversation_id=conversation.pk)
    block = services.block_visitor(expert=alice, conversation_id=conversation.pk, reason=HOSTILE, duration_hours=None)
    return {"conversation": conversation, "report": report, "block": block, "alert": Alert.objects.filter(kind="expert").get()}


def test_managers_are_not_superusers_and_see_what_they_need(manager_client, manager, incident):
    assert not manager.is_superuser
    pages = [
        "/admin/",
        "/admin/moderation/overview/",
        "/admin/moderation/block/",
        "/admin/moderation/block/?state=active",
        "/admin/moderation/alert/",
        "/admin/moderation/reportticket/?status__exact=open&age=1d",
        "/admin/moderation/moderationevent/",
        f"/admin/visitors/conversation/{incident['conversation'].pk}/change/",
        "/admin/experts/expertprofile/",
        "/admin/visitors/brand/",
    ]
    for page in pages:
        assert manager_client.get(page).status_code == 200, page


def test_managers_cannot_reach_users_delete_transcripts_or_edit_the_audit_trail(manager_client, incident):
    conversation = incident["conversation"]
    event = ModerationEvent.objects.first()
    assert manager_client.get("/admin/auth/user/").status_code == 403
    assert manager_client.get("/admin/auth/group/").status_code == 403
    assert manager_client.post(f"/admin/visitors/conversation/{conversation.pk}/delete/", {"post": "yes"}).status_code == 403
    assert manager_client.get("/admin/moderation/block/add/").status_code == 403
    assert manager_client.post(f"/admin/moderation/moderationevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    response = manager_client.post(f"/admin/moderation/moderationevent/{event.pk}/change/", {"action": "lift"})
    assert response.status_code in (302, 403)
    event.refresh_from_db()
    assert event.action != "lift"
    assert ModerationEvent.objects.filter(pk=event.pk).exists()


def test_an_expert_without_staff_rights_cannot_open_the_overview(client, alice):
    client.force_login(alice.user)
    response = client.get("/admin/moderation/overview/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_hostile_text_is_inert_in_every_admin_page(manager_client, incident):
    pages = [
        f"/admin/visitors/conversation/{incident['conversation'].pk}/change/",
        f"/admin/moderation/reportticket/{incident['report'].pk}/change/",
        f"/admin/moderation/alert/{incident['alert'].pk}/change/",
        f"/admin/moderation/block/{incident['block'].pk}/change/",
        "/admin/moderation/alert/",
        "/admin/moderation/overview/",
    ]
    for page in pages:
        body = manager_client.get(page).content.decode()
        assert "<script>alert" not in body and "<img src=x" not in body, page
        assert "&lt;script&gt;" in body or "&lt;img src=x" in body, page


def test_lift_asks_for_a_reason_and_records_it(manager_client, manager, incident):
    block = incident["block"]
    form = manager_client.post("/admin/moderation/block/", {"action": "lift_blocks", "_selected_action": [block.pk]})
    assert form.status_code == 200 and b"reason" in form.content
    done = manager_client.post(
        "/admin/moderation/block/", {"action": "lift_blocks", "_selected_action": [block.pk], "apply": "1", "reason": "Apologised"}
    )
    assert done.status_code == 302
    block.refresh_from_db()
    assert block.status == "lifted" and block.lift_reason == "Apologised" and block.lifted_by == manager
    assert ModerationEvent.objects.filter(action="lift", user=manager).exists()


def test_extend_lengthens_a_timed_block(manager_client, brand, alice):
    visitor, _ = visitor_services.open_visitor_session(brand=brand, token=None, nickname="", address_hash="")
    conversation = visitor_services.start_conversation(visitor=visitor, text="q", client_id="c")
    expert_services.claim_conversation(expert=alice, conversation_id=conversation.pk)
    block = services.block_visitor(expert=alice, conversation_id=conversation.pk, reason="r", duration_hours=2)
    before = block.expires_at
    manager_client.post("/admin/moderation/block/", {"action": "extend_24h", "_selected_action": [block.pk]})
    block.refresh_from_db()
    assert (block.expires_at - before).total_seconds() == pytest.approx(24 * 3600, abs=5)


def test_ticket_workflow_and_assign_to_me(manager_client, manager, incident):
    report = incident["report"]
    manager_client.post("/admin/moderation/reportticket/", {"action": "assign_to_me", "_selected_action": [report.pk]})
    manager_client.post("/admin/moderation/reportticket/", {"action": "mark_resolved", "_selected_action": [report.pk]})
    report.refresh_from_db()
    assert report.assignee == manager and report.status == "open"  # open cannot jump to resolved
    manager_client.post("/admin/moderation/reportticket/", {"action": "mark_in_review", "_selected_action": [report.pk]})
    response = manager_client.post(
        f"/admin/moderation/reportticket/{report.pk}/change/",
        {"status": "resolved", "assignee": manager.pk, "resolution_note": "Talked to the expert."},
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == "resolved" and report.resolution_note == "Talked to the expert."
    steps = list(ModerationEvent.objects.filter(action="ticket").values_list("details", flat=True))
    assert [s["status"] for s in steps if "status" in s] == [["in_review", "resolved"], ["open", "in_review"]]


def test_alert_acknowledge_and_close(manager_client, manager, incident):
    alert = incident["alert"]
    manager_client.post("/admin/moderation/alert/", {"action": "acknowledge", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == manager
    manager_client.post("/admin/moderation/alert/", {"action": "close", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.status == "closed"


def test_suspend_from_the_admin(manager_client, alice):
    manager_client.post("/admin/experts/expertprofile/", {"action": "suspend", "_selected_action": [alice.pk]})
    alice.refresh_from_db()
    assert alice.is_suspended
    assert ModerationEvent.objects.filter(action="suspend", expert=alice).exists()


def test_overview_counts_and_chart(manager_client, incident):
    body = manager_client.get("/admin/moderation/overview/").content.decode()
    assert "Open alerts (2)" in body  # the expert's alert and the block's
    assert "Active blocks (1)" in body
    assert body.count("<rect") == 60  # 30 days of blocks, 30 of reports
    assert ReportTicket.objects.count() == 1 and Block.objects.count() == 1
