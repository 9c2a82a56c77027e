"""The community managers' admin: what their group may and may not do, and inert hostile text."""

import io
import re

import pytest
from django.core.management import call_command

from experts import services as expert_services
from moderation import services
from moderation.models import Alert, Block, ModerationEvent, ReportTicket
from visitors import services as visitor_services
from tests.support import sign_in

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def manager(django_user_model):
    call_command("create_community_manager", "carol", password="pw-carol-123", stdout=io.StringIO())
    return django_user_model.objects.get(username="carol")


@pytest.fixture
def manager_client(client, manager):
    sign_in(client, manager)
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
    sign_in(client, alice.user)
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
    assert '<strong id="count-alerts">2</strong>' in body  # the expert's alert and the block's
    assert '<strong id="count-blocks">1</strong>' in body
    assert body.count("<rect") == 60  # 30 days of blocks, 30 of reports
    assert ReportTicket.objects.count() == 1 and Block.objects.count() == 1


def _profile_form(expert, **changes):
    """The expert profile's change form as the admin posts it, with ``changes`` applied."""
    data = {
        "user": expert.user_id, "display_name": expert.display_name, "bio": expert.bio, "avatar_url": expert.avatar_url,
        "brands": [b.pk for b in expert.brands.all()], "topics": [t.pk for t in expert.topics.all()],
        "capacity": expert.capacity, "presence": expert.presence,
    }
    data.update(changes)
    return data


def test_a_manager_cannot_hand_an_expert_profile_to_another_account(manager_client, alice, bob, other_brand):
    # Guards against: a community manager moving an expert's profile (ratings, conversations) to another sign-in.
    response = manager_client.post(
        f"/admin/experts/expertprofile/{alice.pk}/change/",
        _profile_form(alice, user=bob.user_id, capacity=5, brands=[b.pk for b in alice.brands.all()] + [other_brand.pk]),
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.user.username == "alice"  # still her own account
    assert alice.capacity == 5 and set(alice.brands.values_list("slug", flat=True)) == {"acme", "globex"}  # the rest is the manager's to edit
    page = manager_client.get(f"/admin/experts/expertprofile/{alice.pk}/change/").content.decode()
    assert 'name="user"' not in page and "alice" in page  # shown, not editable


def test_a_superuser_may_still_move_a_profile(client, django_user_model, alice, make_expert):
    admin_user = django_user_model.objects.create_superuser("root", "root@example.test", "pw-root-123")
    spare = django_user_model.objects.create_user("alice2", password="pw-alice2")
    sign_in(client, admin_user)
    response = client.post(f"/admin/experts/expertprofile/{alice.pk}/change/", _profile_form(alice, user=spare.pk))
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.user_id == spare.pk


def test_ticket_assignees_are_the_active_community_managers(manager_client, manager, django_user_model, incident):
    # Guards against: a ticket assigned to a superuser, an expert or a former manager who never sees it.
    call_command("create_community_manager", "dora", password="pw-dora-123", stdout=io.StringIO())
    call_command("create_community_manager", "gone", password="pw-gone-123", stdout=io.StringIO())
    django_user_model.objects.filter(username="gone").update(is_active=False)
    root = django_user_model.objects.create_superuser("root", "root@example.test", "pw-root-123")
    report = incident["report"]
    page = manager_client.get(f"/admin/moderation/reportticket/{report.pk}/change/").content.decode()
    select = page[page.index('name="assignee"'):]
    select = select[:select.index("</select>")]
    assert ">carol<" in select and ">dora<" in select
    assert ">root<" not in select and ">gone<" not in select and ">alice<" not in select
    response = manager_client.post(f"/admin/moderation/reportticket/{report.pk}/change/",
                                   {"status": "open", "assignee": root.pk, "resolution_note": ""})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    report.refresh_from_db()
    assert report.assignee is None


def test_a_ticket_already_held_by_someone_else_can_still_be_saved(manager_client, django_user_model, incident):
    root = django_user_model.objects.create_superuser("root", "root@example.test", "pw-root-123")
    report = incident["report"]
    services.change_ticket(user=root, report=report, assignee=root)  # "assign to me" by a superuser
    response = manager_client.post(f"/admin/moderation/reportticket/{report.pk}/change/",
                                   {"status": "in_review", "assignee": root.pk, "resolution_note": "Looking"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == "in_review" and report.assignee == root


def test_the_conversation_page_shows_its_moderation_history(manager_client, incident):
    # Guards against: the transcript page losing the audit trail a manager reviews a block with.
    page = manager_client.get(f"/admin/visitors/conversation/{incident['conversation'].pk}/change/").content.decode()
    assert "moderation history" in page.lower()
    history = page[page.lower().index("moderation history"):]
    sentences = re.findall(r'class="field-what">\s*<p>([^<]*)</p>', history)
    # Newest first, each a sentence saying who acted (the hostile text stays escaped).
    assert [s.split(" ", 2)[:2] for s in sentences] == [["Alice", "blocked"], ["The", "visitor"], ["Alice", "alerted"]]
    assert sentences[0].startswith("Alice blocked the visitor until lifted: &lt;script&gt;")
