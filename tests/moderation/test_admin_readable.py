"""The admin reads like a page for people: history as sentences, flags as warnings, search by what managers are given."""

import re

import pytest

from experts import services as expert_services
from moderation import history, services
from moderation.models import Alert, Block, ModerationEvent
from visitors import services as visitor_services
from visitors.models import Message
from tests.support import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client(client, manager):
    sign_in(client, manager)
    return client


@pytest.fixture
def incident(brand, alice, manager):
    """One conversation that climbed the whole ladder, then went through the managers' hands."""
    visitor, _ = visitor_services.open_visitor_session(brand=brand, token=None, nickname="Trailblazer", address_hash="h" * 64)
    conversation = visitor_services.start_conversation(visitor=visitor, text="Hello", client_id="c1")
    expert_services.claim_conversation(expert=alice, conversation_id=conversation.pk)
    services.warn(expert=alice, conversation_id=conversation.pk)
    services.alert_managers(expert=alice, conversation_id=conversation.pk, note="Insults after a warning")
    report = services.file_visitor_report(visitor=visitor, category="disrespectful", description="Rude", conversation_id=conversation.pk)
    block = services.block_visitor(expert=alice, conversation_id=conversation.pk, reason="repeated insults", duration_hours=24)
    services.extend_block(user=manager, block=block, hours=24 * 7)
    services.lift_block(user=manager, block=block, reason="Apologised")
    alert = Alert.objects.filter(kind="expert").get()
    services.acknowledge_alert(user=manager, alert_id=alert.pk)
    services.close_alert(user=manager, alert=alert)
    services.change_ticket(user=manager, report=report, status="in_review", assignee=manager)
    services.set_suspended(user=manager, expert=alice, suspended=True)
    return {"conversation": conversation, "report": report, "visitor": visitor}


def test_the_moderation_history_reads_as_sentences(manager_client, incident):
    sentences = [history.describe(e) for e in ModerationEvent.objects.order_by("created_at", "pk")]
    report = incident["report"].reference
    assert "Alice warned the visitor: \u201cI'm a member of the community." in sentences[0]
    assert "Alice alerted the community managers: Insults after a warning" in sentences
    assert f"The visitor filed report {report} (disrespectful)" in sentences
    assert "Alice blocked the visitor and their address for 24 h: repeated insults" in sentences
    assert any(re.fullmatch(r"carol extended block #\d+ for 7 days", s) for s in sentences)
    assert any(re.fullmatch(r"carol lifted block #\d+: Apologised", s) for s in sentences)
    assert any(re.fullmatch(r"carol acknowledged alert #\d+", s) for s in sentences)
    assert any(re.fullmatch(r"carol closed alert #\d+", s) for s in sentences)
    assert f"carol changed ticket {report}: status open \u2192 in review; assigned to carol" in sentences
    assert "carol suspended Alice" in sentences

    for page in ["/admin/moderation/moderationevent/", f"/admin/visitors/conversation/{incident['conversation'].pk}/change/"]:
        body = manager_client.get(page).content.decode()
        assert "Alice blocked the visitor and their address for 24 h: repeated insults" in body, page
        assert "&quot;duration_hours&quot;" not in body and '"duration_hours"' not in body, page  # no raw JSON


def test_a_flagged_message_carries_a_warning_badge_never_a_tick(manager_client, brand, alice):
    visitor, _ = visitor_services.open_visitor_session(brand=brand, token=None, nickname="Sam", address_hash="")
    conversation = visitor_services.start_conversation(visitor=visitor, text="Hello", client_id="c1")
    Message.objects.create(conversation=conversation, seq=2, author="visitor", text="you idiot", flagged=True)
    body = manager_client.get(f"/admin/visitors/conversation/{conversation.pk}/change/").content.decode()
    assert body.count('class="flag-badge"') == 1  # the flagged message, not the clean one
    assert "\u26a0 Flagged" in body
    assert "icon-yes.svg" not in body and "icon-no.svg" not in body


def test_one_date_format_across_the_admin(manager_client, incident):
    for page in ["/admin/moderation/block/", "/admin/moderation/alert/", "/admin/moderation/reportticket/",
                 "/admin/moderation/moderationevent/", "/admin/visitors/conversation/",
                 f"/admin/moderation/block/{Block.objects.get().pk}/change/"]:
        body = manager_client.get(page).content.decode()
        assert re.search(r"\b20\d\d-\d\d-\d\d \d\d:\d\d\b", body), page
        assert not re.search(r"\b[ap]\.m\.|\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\.? \d{1,2}, 20\d\d", body), page


def _found(client, changelist, term):
    response = client.get(changelist, {"q": term})
    assert response.status_code == 200
    return response.context["cl"].result_count


def test_search_by_conversation_id_nickname_and_report_reference(manager_client, incident, brand):
    conversation_id = str(incident["conversation"].pk)
    reference = incident["report"].reference
    other, _ = visitor_services.open_visitor_session(brand=brand, token=None, nickname="Someone else", address_hash="")
    visitor_services.start_conversation(visitor=other, text="Hi", client_id="o1")
    lists = {
        "/admin/visitors/conversation/": 1, "/admin/visitors/visitor/": 1, "/admin/moderation/alert/": 2,
        "/admin/moderation/reportticket/": 1, "/admin/moderation/block/": 1,
    }
    for changelist, expected in lists.items():
        for term in (conversation_id, conversation_id.replace("-", "").upper(), "trailblazer", reference.lower()):
            assert _found(manager_client, changelist, term) == expected, (changelist, term)
        assert _found(manager_client, changelist, "nobody-by-that-name") == 0, changelist
    events = "/admin/moderation/moderationevent/"
    assert _found(manager_client, events, conversation_id) == ModerationEvent.objects.filter(conversation_id=conversation_id).count()
    assert _found(manager_client, events, reference) >= 2  # filed, then changed
    assert _found(manager_client, events, "12345678-not-a-uuid") == 0
