"""A community manager limited to some brands sees and acts on nothing of the others.

Through every admin list, search, filter, change page and action, the overview and the live feed.
The managers here hold only the "Community managers" group's permissions (moderation/permissions.py).
"""

import io

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.utils import timezone

from experts import services as expert_services
from experts.models import CommunityPost, Topic
from moderation import services
from moderation.models import Alert, Block, ManagerScope, ModerationEvent, ReportTicket
from tests.moderation.sockets import moderation_feed
from visitors import services as visitor_services
from tests.support import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

LISTS = [
    "/admin/visitors/conversation/", "/admin/visitors/visitor/", "/admin/visitors/brand/",
    "/admin/moderation/alert/", "/admin/moderation/reportticket/", "/admin/moderation/block/",
    "/admin/moderation/moderationevent/", "/admin/experts/expertprofile/", "/admin/experts/topic/",
    "/admin/experts/communitypost/", "/admin/moderation/overview/",
]


def incident(brand, expert, nickname, note):
    """A claimed conversation with an alert, a report, a block and a community post, all of ``brand``."""
    visitor, _ = visitor_services.open_visitor_session(brand=brand, token=None, nickname=nickname, address_hash="")
    conversation = visitor_services.start_conversation(visitor=visitor, text="Hello", client_id="c1")
    expert_services.claim_conversation(expert=expert, conversation_id=conversation.pk)
    alert = services.alert_managers(expert=expert, conversation_id=conversation.pk, note=note)
    report = services.file_visitor_report(visitor=visitor, category="other", description=note, conversation_id=conversation.pk)
    block = services.block_visitor(expert=expert, conversation_id=conversation.pk, reason=note, duration_hours=24)
    Topic.objects.create(brand=brand, slug=f"{brand.slug}-topic", name=f"{nickname} topic")
    post = CommunityPost.objects.create(author=expert, brand=brand, title=f"{nickname} post", body="A hard case",
                                       last_activity_at=timezone.now())
    return {"visitor": visitor, "conversation": conversation, "alert": alert, "report": report, "block": block, "post": post}


@pytest.fixture
def world(brand, other_brand, make_expert):
    alice = make_expert("alice", brands=[brand])
    gina = make_expert("gina", brands=[other_brand], display_name="Gina Globex")
    return {
        "acme": incident(brand, alice, "AcmeSam", "Acme trouble"),
        "globex": incident(other_brand, gina, "GlobexGus", "Globex secret trouble"),
        "gina": gina,
    }


@pytest.fixture
def dave(django_user_model, brand):
    """A community manager limited to Acme."""
    call_command("create_community_manager", "dave", password="pw-dave-12345", stdout=io.StringIO())
    user = django_user_model.objects.get(username="dave")
    ManagerScope.objects.create(user=user).brands.set([brand])
    return user


@pytest.fixture
def dave_client(client, dave):
    sign_in(client, dave)
    return client


def globex_strings(world):
    g = world["globex"]
    return ["GlobexGus", "Globex", "Gina Globex", "globex", g["report"].reference, str(g["conversation"].pk)]


def test_every_list_shows_only_the_managers_brands(dave_client, world):
    for page in LISTS:
        response = dave_client.get(page)
        assert response.status_code == 200, page
        body = response.content.decode()
        for secret in globex_strings(world):
            assert secret not in body, (page, secret)
    # ...and does show their own brand's rows.
    assert "AcmeSam" in dave_client.get("/admin/visitors/visitor/").content.decode()
    assert "Acme trouble" in dave_client.get("/admin/moderation/alert/").content.decode()
    overview = dave_client.get("/admin/moderation/overview/").content.decode()
    assert '<strong id="count-alerts">2</strong>' in overview  # Acme's alert and its block's, not Globex's
    # The analytics page (its CSV exports: tests/analytics/test_views.py): Acme's one question only.
    analytics = dave_client.get("/admin/analytics/")
    assert analytics.context["figures"]["questions"]["asked"] == 1
    assert analytics.context["figures"]["moderation"]["blocks"] == 1
    for secret in globex_strings(world):
        assert secret not in analytics.content.decode(), secret


def test_search_and_filters_find_nothing_of_other_brands(dave_client, world, other_brand):
    g = world["globex"]
    for page in [p for p in LISTS[:-1] if "topic" not in p]:  # every list with a search box
        for term in ("GlobexGus", g["report"].reference, str(g["conversation"].pk)):
            response = dave_client.get(page, {"q": term})
            assert response.context["cl"].result_count == 0, (page, term)
    for page in ["/admin/visitors/conversation/", "/admin/moderation/alert/", "/admin/moderation/block/",
                 "/admin/moderation/reportticket/", "/admin/moderation/moderationevent/", "/admin/visitors/visitor/"]:
        response = dave_client.get(page, {"brand__id__exact": str(other_brand.pk)})
        assert response.status_code == 200 and response.context["cl"].result_count == 0, page
    response = dave_client.get("/admin/experts/expertprofile/", {"brands__id__exact": str(other_brand.pk)})
    assert response.context["cl"].result_count == 0


def test_change_pages_of_other_brands_are_not_found(dave_client, world, other_brand):
    g = world["globex"]
    event = ModerationEvent.objects.filter(brand=other_brand).first()
    pages = [
        f"/admin/visitors/conversation/{g['conversation'].pk}/change/", f"/admin/visitors/visitor/{g['visitor'].pk}/change/",
        f"/admin/visitors/brand/{other_brand.pk}/change/", f"/admin/moderation/alert/{g['alert'].pk}/change/",
        f"/admin/moderation/reportticket/{g['report'].pk}/change/", f"/admin/moderation/block/{g['block'].pk}/change/",
        f"/admin/moderation/moderationevent/{event.pk}/change/", f"/admin/experts/expertprofile/{world['gina'].pk}/change/",
        f"/admin/experts/topic/{Topic.objects.get(brand=other_brand).pk}/change/",
        f"/admin/experts/communitypost/{g['post'].pk}/change/",
        f"/admin/visitors/conversation/{g['conversation'].pk}/history/",
    ]
    for page in pages:
        response = dave_client.get(page, follow=True)
        body = response.content.decode()
        assert "doesn’t exist" in body or "doesn't exist" in body, page
        for secret in ("GlobexGus", "Globex secret trouble", "Gina Globex"):
            assert secret not in body, (page, secret)


def test_actions_on_other_brands_rows_change_nothing(dave_client, world):
    g = world["globex"]
    dave_client.post("/admin/moderation/alert/", {"action": "acknowledge", "_selected_action": [g["alert"].pk]})
    dave_client.post("/admin/moderation/alert/", {"action": "close", "_selected_action": [g["alert"].pk]})
    dave_client.post("/admin/moderation/block/", {"action": "lift_blocks", "_selected_action": [g["block"].pk],
                                                  "apply": "1", "reason": "no"})
    dave_client.post("/admin/moderation/block/", {"action": "extend_7d", "_selected_action": [g["block"].pk]})
    dave_client.post("/admin/moderation/reportticket/", {"action": "assign_to_me", "_selected_action": [g["report"].pk]})
    dave_client.post("/admin/visitors/visitor/", {"action": "block_visitors", "_selected_action": [g["visitor"].pk],
                                                 "apply": "1", "reason": "no", "length": "24"})
    dave_client.post(f"/admin/moderation/reportticket/{g['report'].pk}/change/", {"status": "dismissed", "resolution_note": "x"})
    assert Alert.objects.get(pk=g["alert"].pk).status == "open"
    block = Block.objects.get(pk=g["block"].pk)
    assert block.lifted_at is None and block.expires_at == g["block"].expires_at
    report = ReportTicket.objects.get(pk=g["report"].pk)
    assert report.assignee_id is None and report.status == "open"
    assert Block.objects.filter(visitor=g["visitor"]).count() == 1  # the expert's only
    assert not ModerationEvent.objects.filter(actor_kind="manager").exists()


def test_editing_a_shared_expert_keeps_their_other_brands(dave_client, world, brand, other_brand, make_expert):
    shared = make_expert("sam", brands=[brand, other_brand])
    page = dave_client.get(f"/admin/experts/expertprofile/{shared.pk}/change/").content.decode()
    assert "Globex" not in page
    response = dave_client.post(f"/admin/experts/expertprofile/{shared.pk}/change/", {
        "display_name": "Sam", "bio": "", "avatar_url": "", "brands": [brand.pk], "capacity": 7, "presence": shared.presence,
    })
    assert response.status_code == 302
    shared.refresh_from_db()
    assert shared.capacity == 7 and set(shared.brands.values_list("slug", flat=True)) == {"acme", "globex"}
    dave_client.post("/admin/experts/expertprofile/", {"action": "suspend", "_selected_action": [shared.pk]})
    shared.refresh_from_db()
    assert not shared.is_suspended  # Globex's experts are not Acme's manager's to suspend


def test_an_unscoped_manager_and_a_superuser_see_every_brand(client, manager, world, django_user_model):
    for user in (manager, django_user_model.objects.create_superuser("root", password="pw-root-12345")):
        sign_in(client, user)
        body = client.get("/admin/moderation/alert/").content.decode()
        assert "Globex secret trouble" in body and "Acme trouble" in body


async def test_the_live_feed_carries_only_the_managers_brands(connect, dave, world, brand, other_brand):
    feed = await moderation_feed(connect, dave)
    assert {a["brand"] for a in feed.welcome["open_alerts"]} == {"acme"}
    assert feed.welcome["open_alert_count"] == 2 and feed.welcome["open_reports"] == 1 and feed.welcome["active_blocks"] == 1

    g = world["globex"]
    await database_sync_to_async(services.file_report)(brand=other_brand, category="other", description="Globex again")
    await database_sync_to_async(services.note_flooding)(visitor=g["visitor"])
    assert await feed.nothing(timeout=0.5)  # not a frame, not even counts
    assert (await feed.error({"type": "alert.ack", "alert": str(g["alert"].pk)}))["code"] == "not_found"
    assert (await database_sync_to_async(Alert.objects.get)(pk=g["alert"].pk)).status == "open"

    await database_sync_to_async(services.file_report)(brand=brand, category="other", description="Acme again")
    assert (await feed.recv_type("report.created"))["report"]["brand"] == "acme"
    assert (await feed.recv_type("counts"))["open_reports"] == 2

    # Narrowed while the feed is open: Acme's next alert no longer reaches it.
    scope = await database_sync_to_async(ManagerScope.objects.get)(user=dave)
    await database_sync_to_async(scope.brands.clear)()
    await database_sync_to_async(services.file_report)(brand=brand, category="other", description="Acme once more")
    assert await feed.nothing(timeout=0.5)
