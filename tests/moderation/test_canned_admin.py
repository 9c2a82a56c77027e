"""The brands' canned replies and the transfers' trail in the managers' admin, as a brand-scoped manager."""

import io

import pytest
from django.core.management import call_command

from experts import canned
from experts.models import CannedReply, ConversationTransfer
from moderation.models import ManagerScope
from tests.support import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def dave_client(client, django_user_model, brand, other_brand):
    """A community manager limited to Acme, with only the group's permissions."""
    call_command("create_community_manager", "dave", password="pw-dave-12345", stdout=io.StringIO())
    user = django_user_model.objects.get(username="dave")
    ManagerScope.objects.create(user=user).brands.set([brand])
    sign_in(client, user)  # with two-factor passed, as the admin requires of managers
    return client


def test_a_scoped_manager_sees_and_edits_only_their_brands_replies(dave_client, brand, other_brand, alice):
    CannedReply.objects.filter(brand=other_brand, position=0).update(text="Globex secret reminder")
    canned.create_own_reply(expert=alice, title="Alice private", text="Alice's own words")
    page = dave_client.get("/admin/experts/cannedreply/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Politeness reminder" in body and "Acme Outdoor" in body
    assert "Globex" not in body  # neither its rows nor its brand in the filter
    assert "Alice private" not in body  # an expert's own replies are theirs
    assert "Globex secret" not in dave_client.get("/admin/experts/cannedreply/", {"q": "secret"}).content.decode()

    theirs = CannedReply.objects.get(brand=other_brand, position=0)
    assert dave_client.get(f"/admin/experts/cannedreply/{theirs.pk}/change/").status_code in (302, 404)
    own = CannedReply.objects.get(brand=brand, position=0)
    response = dave_client.post(f"/admin/experts/cannedreply/{own.pk}/change/", {
        "brand": brand.pk, "title": "Politeness reminder", "text": "Stay kind, {visitor}.", "position": 0,
    })
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.text == "Stay kind, {visitor}."


def test_a_scoped_manager_adds_a_reply_for_their_brand_only(dave_client, brand, other_brand):
    form = dave_client.get("/admin/experts/cannedreply/add/").content.decode()
    assert "Acme Outdoor" in form and "Globex" not in form
    refused = dave_client.post("/admin/experts/cannedreply/add/", {
        "brand": other_brand.pk, "title": "Sneaky", "text": "x", "position": 1,
    })
    assert refused.status_code == 200 and not CannedReply.objects.filter(title="Sneaky").exists()
    bad = dave_client.post("/admin/experts/cannedreply/add/", {
        "brand": brand.pk, "title": "Typo", "text": "Hi {vistor}", "position": 1,
    })
    assert "Unknown placeholder {vistor}" in bad.content.decode()
    assert not CannedReply.objects.filter(title="Typo").exists()
    missing = dave_client.post("/admin/experts/cannedreply/add/", {"title": "No brand", "text": "x", "position": 1})
    assert missing.status_code == 200 and not CannedReply.objects.filter(title="No brand").exists()
    added = dave_client.post("/admin/experts/cannedreply/add/", {
        "brand": brand.pk, "title": "Returns", "text": "Our returns page, {visitor}.", "position": 9,
    })
    assert added.status_code == 302
    assert CannedReply.objects.get(title="Returns").brand == brand


def test_the_transfers_trail_is_scoped_and_read_only(dave_client, brand, other_brand, make_expert):
    from visitors.models import Conversation, Visitor

    rows = {}
    for b in (brand, other_brand):
        one = make_expert(f"one-{b.slug}", brands=[b], display_name=f"From {b.name}")
        two = make_expert(f"two-{b.slug}", brands=[b], display_name=f"To {b.name}")
        visitor = Visitor.objects.create(brand=b, token_hash=f"t-{b.slug}")
        conversation = Conversation.objects.create(brand=b, visitor=visitor, expert=two, status="active")
        rows[b.slug] = ConversationTransfer.objects.create(conversation=conversation, from_expert=one, to_expert=two, note="n")
    body = dave_client.get("/admin/experts/conversationtransfer/").content.decode()
    assert "To Acme Outdoor" in body and "Globex" not in body
    assert dave_client.get(f"/admin/experts/conversationtransfer/{rows['globex'].pk}/change/").status_code in (302, 404)
    assert dave_client.get(f"/admin/experts/conversationtransfer/{rows['acme'].pk}/change/").status_code == 200
    assert dave_client.get("/admin/experts/conversationtransfer/add/").status_code == 403
