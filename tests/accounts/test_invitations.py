"""Inviting an expert by e-mail from the admin, end to end (experts/invitations.py)."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from experts.models import ExpertInvitation, ExpertProfile
from tests.support import run_worker_once, sign_in

pytestmark = pytest.mark.django_db(transaction=True)  # the worker runs its tasks in transactions of its own

NEW_PASSWORD = "tread-lightly-42"


@pytest.fixture
def manager_client(manager):
    client = Client()
    sign_in(client, manager)
    return client


@pytest.fixture
def topics(brand):
    from experts.models import Topic

    return [Topic.objects.create(brand=brand, slug="sizing", name="Sizing and fit"),
            Topic.objects.create(brand=brand, slug="care", name="Care and repair")]


def invite(manager_client, brand, topics=(), email="dana@example.test"):
    response = manager_client.post("/admin/experts/expertinvitation/add/", {
        "email": email, "brand": brand.pk, "topics": [t.pk for t in topics],
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    return ExpertInvitation.objects.get(email=email)


def link_in(message) -> str:
    return re.search(r"http://[^\s]+/join/[^\s]+/", message.body).group(0).split("localhost:8000", 1)[-1]


def join(client, path, **fields):
    data = {"username": "dana", "display_name": "Dana", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, **fields}
    return client.post(path, data)


def test_an_invited_expert_joins_through_the_e_mailed_link_and_signs_in_to_the_dashboard(manager_client, brand, topics, manager):
    invitation = invite(manager_client, brand, topics[:1])
    assert mail.outbox == []  # the e-mail is the worker's
    run_worker_once()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dana@example.test"]
    assert brand.name in mail.outbox[0].subject
    path = link_in(mail.outbox[0])

    visitor_of_link = Client()
    page = visitor_of_link.get(path)
    html = page.content.decode()
    assert page.status_code == 200 and "Acme Outdoor" in html and "dana@example.test" in html
    assert re.search(rf'value="{topics[0].pk}"[^>]*checked', html)  # the invitation's topics, offered

    response = join(visitor_of_link, path, topics=[topics[1].pk])
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    expert = ExpertProfile.objects.get(user__username="dana")
    assert expert.display_name == "Dana" and list(expert.brands.all()) == [brand]
    assert list(expert.topics.all()) == [topics[1]] and expert.user.email == "dana@example.test"
    invitation.refresh_from_db()
    assert invitation.status == "accepted" and invitation.accepted_user == expert.user

    fresh = Client()
    signed_in = fresh.post("/login/", {"username": "dana", "password": NEW_PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/dashboard/"
    assert fresh.get("/dashboard/").status_code == 200


def test_the_admin_lists_pending_invitations_and_marks_expired_ones(manager_client, brand):
    invite(manager_client, brand, email="one@example.test")
    old = invite(manager_client, brand, email="two@example.test")
    ExpertInvitation.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    page = manager_client.get("/admin/experts/expertinvitation/?status__exact=pending").content.decode()
    assert "one@example.test" in page and "two@example.test" in page and "invitation-expired" in page


def test_a_used_link_gets_a_clear_page_and_makes_nothing(manager_client, brand):
    invite(manager_client, brand)
    run_worker_once()
    path = link_in(mail.outbox[0])
    assert join(Client(), path).status_code == 302
    again = join(Client(), path, username="dana2")
    assert again.status_code == 410 and "used already" in again.content.decode()
    assert Client().get(path).status_code == 410
    assert not ExpertProfile.objects.filter(user__username="dana2").exists()


@pytest.mark.parametrize("change", [
    lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),   # the signature
    lambda token: "x" + token[1:],                                   # the payload
    lambda token: "not-a-token",
    lambda token: token.split(":")[0],                               # cut short
])
def test_a_tampered_link_gets_a_clear_page(manager_client, brand, change):
    invitation = invite(manager_client, brand)
    run_worker_once()
    token = link_in(mail.outbox[0]).split("/join/", 1)[1].rstrip("/")
    bad = f"/join/{change(token)}/"
    for response in (Client().get(bad), join(Client(), bad)):
        assert response.status_code == 400 and "not complete or was changed" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == "pending" and not ExpertProfile.objects.exists()


def test_an_expired_link_gets_a_clear_page(manager_client, brand):
    invitation = invite(manager_client, brand)
    run_worker_once()
    path = link_in(mail.outbox[0])
    ExpertInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for response in (Client().get(path), join(Client(), path)):
        assert response.status_code == 410 and "expired" in response.content.decode()
    assert not ExpertProfile.objects.exists()


def test_revoking_voids_the_link_and_resending_replaces_it(manager_client, brand):
    first = invite(manager_client, brand, email="a@example.test")
    second = invite(manager_client, brand, email="b@example.test")
    run_worker_once()
    links = {m.to[0]: link_in(m) for m in mail.outbox}

    manager_client.post("/admin/experts/expertinvitation/", {"action": "revoke", "_selected_action": [first.pk]})
    assert Client().get(links["a@example.test"]).status_code == 410

    manager_client.post("/admin/experts/expertinvitation/", {"action": "resend", "_selected_action": [second.pk]})
    run_worker_once()
    assert len(mail.outbox) == 3 and mail.outbox[-1].to == ["b@example.test"]
    new_link = link_in(mail.outbox[-1])
    assert new_link != links["b@example.test"]
    old = Client().get(links["b@example.test"])
    assert old.status_code == 410 and "newer e-mail" in old.content.decode()
    assert join(Client(), new_link).status_code == 302

    # A revoked or accepted invitation is not sent again.
    manager_client.post("/admin/experts/expertinvitation/", {"action": "resend",
                                                              "_selected_action": [first.pk, second.pk]})
    run_worker_once()
    assert len(mail.outbox) == 3


@pytest.mark.parametrize("fields,field,text", [
    ({"password2": "something-else-9"}, "password2", "differ"),
    ({"password1": "password", "password2": "password"}, "password1", "too common"),
    ({"username": "alice"}, "username", "taken"),
    ({"username": "no spaces"}, "username", "letters, digits"),
    ({"display_name": "\u200b"}, "display_name", "required"),
])
def test_a_bad_form_says_why_and_makes_nothing(manager_client, brand, alice, fields, field, text):
    invitation = invite(manager_client, brand)
    run_worker_once()
    response = join(Client(), link_in(mail.outbox[0]), **fields)
    assert response.status_code == 200 and text in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == "pending" and not ExpertProfile.objects.filter(user__username="dana").exists()


def test_topics_of_another_brand_are_refused(manager_client, brand, other_brand):
    from experts.models import Topic

    foreign = Topic.objects.create(brand=other_brand, slug="x", name="Other brand's topic")
    response = manager_client.post("/admin/experts/expertinvitation/add/", {
        "email": "dana@example.test", "brand": brand.pk, "topics": [foreign.pk]})
    assert response.status_code == 200 and not ExpertInvitation.objects.exists()


def test_a_brand_scoped_manager_invites_to_their_brands_only(client, manager, brand, other_brand):
    from moderation.models import ManagerScope

    scope = ManagerScope.objects.create(user=manager)
    scope.brands.set([brand])
    sign_in(client, manager)
    response = client.post("/admin/experts/expertinvitation/add/", {"email": "x@example.test", "brand": other_brand.pk})
    assert response.status_code == 200 and not ExpertInvitation.objects.exists()
    assert client.post("/admin/experts/expertinvitation/add/", {"email": "x@example.test", "brand": brand.pk}).status_code == 302


def test_an_expert_cannot_invite(client, alice, brand):
    sign_in(client, alice.user)
    response = client.post("/admin/experts/expertinvitation/add/", {"email": "x@example.test", "brand": brand.pk})
    assert response.status_code == 302 and not ExpertInvitation.objects.exists()  # to the sign-in page


def test_the_create_expert_command_still_makes_experts(brand):
    from django.core.management import call_command

    call_command("create_expert", "erin", password="pw-erin-12345", brand=["acme"], stdout=__import__("io").StringIO())
    assert Client().post("/login/", {"username": "erin", "password": "pw-erin-12345"})["Location"] == "/dashboard/"
