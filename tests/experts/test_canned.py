"""Canned replies as data: the brand's charter set, the expert's own over HTTP, the placeholders."""

import pytest
from django.test import Client

from chatplatform.errors import ChatError
from experts import canned
from experts.models import CannedReply

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice.user)
    return client


def test_a_new_brand_gets_the_charters_replies_politeness_first(brand):
    replies = list(CannedReply.objects.filter(brand=brand))
    assert replies[0].title == "Politeness reminder"
    assert replies[0].text == (
        "I'm a member of the community. I'm here to help and to share my knowledge. Please remain polite and respectful!"
    )
    texts = " ".join(r.text for r in replies)
    assert "I'm sorry another expert was not helpful" in texts
    assert "it's totally fine to keep searching for the right one" in texts
    # Seeding again adds nothing.
    assert canned.seed_brand_replies(brand) == 0
    assert CannedReply.objects.filter(brand=brand).count() == len(replies)


def test_placeholders_are_filled_and_unknown_ones_refused():
    assert canned.fill("Hello {visitor}, I'm {expert}.", visitor="Robin", expert="Alice") == "Hello Robin, I'm Alice."
    assert canned.fill("Keep {this} and {{visitor}}", visitor="R", expert="A") == "Keep {this} and {R}"
    canned.check_placeholders("Hi {visitor} :} {expert}")
    with pytest.raises(ChatError) as excinfo:
        canned.check_placeholders("Hi {name}")
    assert excinfo.value.code == "invalid_field" and "{name}" in excinfo.value.detail


def test_the_dashboard_offers_the_experts_own_and_their_brands_replies_only(alice_client, alice, bob, brand, other_brand):
    mine = canned.create_own_reply(expert=alice, title="Waxing", text="Wax it twice, {visitor}.")
    canned.create_own_reply(expert=bob, title="Bob's secret", text="Not for Alice")
    response = alice_client.get("/dashboard/")
    replies = response.context["canned_replies"]
    assert replies[0] == {"id": mine.pk, "title": "Waxing", "text": "Wax it twice, {visitor}.", "brand": None, "own": True}
    assert replies[1]["title"] == "Politeness reminder" and replies[1]["brand"] == "acme"
    assert {r["brand"] for r in replies} == {None, "acme"}  # nothing of Globex
    assert "Bob's secret" not in {r["title"] for r in replies}
    assert response.context["guidance"]["acme"]["text"].startswith("Some do's:")
    assert "bad experience" in response.context["guidance"]["acme"]["phrases"]


def test_an_expert_creates_edits_and_deletes_their_own_replies(alice_client, alice):
    response = alice_client.post("/dashboard/replies/", {"title": "Seams", "text": "Try seam tape, {visitor}."})
    assert response.status_code == 302
    reply = CannedReply.objects.get(expert=alice)
    assert (reply.title, reply.text, reply.brand_id) == ("Seams", "Try seam tape, {visitor}.", None)
    page = alice_client.get("/dashboard/replies/")
    assert b"Try seam tape" in page.content

    response = alice_client.post(f"/dashboard/replies/{reply.pk}/", {"title": "Seams", "text": "Seam tape, then wax."})
    assert response.status_code == 302
    reply.refresh_from_db()
    assert reply.text == "Seam tape, then wax."

    assert alice_client.post(f"/dashboard/replies/{reply.pk}/delete/").status_code == 302
    assert not CannedReply.objects.filter(pk=reply.pk).exists()


def test_bad_input_is_refused_and_changes_nothing(alice_client, alice):
    before = CannedReply.objects.count()
    for data in (
        {"title": "Hi", "text": "Hello {name}"},       # unknown placeholder
        {"title": "", "text": "Hello"},                 # no title
        {"title": "Hi", "text": "\u200b"},              # a blank text
        {"title": "Hi", "text": "x" * 2001},            # too long
        {"title": "Hi", "text": "nul \x00 byte"},       # NUL
    ):
        response = alice_client.post("/dashboard/replies/", data)
        assert response.status_code == 400, data
    assert CannedReply.objects.count() == before
    response = alice_client.post("/dashboard/replies/", {"title": "Hi", "text": "Hello {name}"})
    assert "Unknown placeholder {name}" in response.content.decode()


def test_another_experts_or_a_brands_reply_is_not_found(alice_client, bob, brand):
    theirs = canned.create_own_reply(expert=bob, title="Bob's", text="Bob's words")
    brands = CannedReply.objects.filter(brand=brand).first()
    for reply in (theirs, brands):
        assert alice_client.post(f"/dashboard/replies/{reply.pk}/", {"title": "Mine now", "text": "x"}).status_code == 404
        assert alice_client.post(f"/dashboard/replies/{reply.pk}/delete/").status_code == 404
        reply.refresh_from_db()
        assert reply.title != "Mine now"


def test_the_endpoints_need_the_session_and_the_csrf_token(alice, brand):
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post("/dashboard/replies/", {"title": "Hi", "text": "Hello"}).status_code in (302, 403)
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(alice.user)
    assert signed_in.post("/dashboard/replies/", {"title": "Hi", "text": "Hello"}).status_code == 403
    assert not CannedReply.objects.filter(expert=alice).exists()


def test_an_expert_keeps_a_bounded_number_of_replies(alice):
    CannedReply.objects.bulk_create(CannedReply(expert=alice, title=f"r{i}", text="t") for i in range(canned.MAX_OWN_REPLIES))
    with pytest.raises(ChatError) as excinfo:
        canned.create_own_reply(expert=alice, title="one more", text="t")
    assert excinfo.value.code == "capacity"


def test_the_data_migration_seeds_existing_brands_with_their_own_reminder(brand, other_brand):
    import importlib
    import pkgutil

    from django.apps import apps

    import experts.migrations

    # Found by its name, not its number (migrations are renumbered when branches merge).
    name = next(m.name for m in pkgutil.iter_modules(experts.migrations.__path__) if m.name.endswith("_seed_canned_replies"))
    migration = importlib.import_module(f"experts.migrations.{name}")
    CannedReply.objects.filter(brand=brand).delete()  # as a brand made before canned replies were data
    brand.politeness_reminder = "Please stay polite, I volunteer my time."
    brand.save()
    kept = CannedReply.objects.filter(brand=other_brand).count()
    migration.seed(apps, None)
    replies = list(CannedReply.objects.filter(brand=brand))
    assert replies[0].text == "Please stay polite, I volunteer my time."
    assert [r.title for r in replies] == [title for title, _ in canned.CHARTER_REPLIES]
    assert CannedReply.objects.filter(brand=other_brand).count() == kept  # a seeded brand is left alone
