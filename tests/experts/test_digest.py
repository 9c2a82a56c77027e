"""The experts' e-mail digest: "n questions waiting on <brand>", at most every CHAT_EXPERT_DIGEST_MINUTES, off by default."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests.support import run_worker_once

pytestmark = pytest.mark.django_db(transaction=True)


def ask(brand, n=1):
    from visitors.models import Conversation, Visitor

    for _ in range(n):
        visitor = Visitor.objects.create(brand=brand, token_hash=Visitor.objects.count().__str__().rjust(64, "0"))
        Conversation.objects.create(brand=brand, visitor=visitor)


def worker_again():
    from chatplatform.models import SweepSchedule

    SweepSchedule.objects.update(next_run_at=timezone.now() - timedelta(seconds=1))
    run_worker_once()


def an_hour_later(expert):
    """As if 61 minutes passed: the last digest and every question are that much older."""
    from django.db.models import F

    from experts.models import ExpertProfile
    from visitors.models import Conversation

    ExpertProfile.objects.filter(pk=expert.pk).update(digest_sent_at=F("digest_sent_at") - timedelta(minutes=61))
    Conversation.objects.update(created_at=F("created_at") - timedelta(minutes=61))


def switch_digest(expert, on: bool):
    client = Client()
    client.force_login(expert.user)
    form = {"display_name": expert.display_name, "bio": "", "avatar_url": ""}
    response = client.post("/dashboard/profile/", form | ({"digest_enabled": "on"} if on else {}))
    assert response.status_code == 302
    expert.refresh_from_db()
    assert expert.digest_enabled is on


@pytest.fixture
def carol(make_expert, brand, other_brand):
    expert = make_expert("carol", brands=[brand, other_brand])
    expert.user.email = "carol@example.test"
    expert.user.save()
    return expert


def test_the_digest_is_off_by_default(carol, brand):
    ask(brand, 2)
    run_worker_once()
    assert mail.outbox == []


def test_the_digest_counts_each_brands_waiting_questions_and_comes_once_per_interval(carol, brand, other_brand):
    switch_digest(carol, True)
    ask(brand, 3)
    ask(other_brand, 1)
    run_worker_once()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["carol@example.test"]
    assert message.subject == "2 brands have questions waiting"
    assert "3 questions waiting on Acme Outdoor\n1 question waiting on Globex\n" in message.body
    assert "http://localhost:8000/dashboard/profile/" in message.body  # where to switch it off

    ask(brand, 1)  # new, but within the interval: nothing yet
    worker_again()
    assert len(mail.outbox) == 1

    an_hour_later(carol)
    worker_again()
    assert len(mail.outbox) == 2
    assert "4 questions waiting on Acme Outdoor\n1 question waiting on Globex\n" in mail.outbox[1].body

    an_hour_later(carol)
    worker_again()
    assert len(mail.outbox) == 2  # nothing new since the last digest: no e-mail


def test_no_digest_once_switched_off_nor_for_nothing_waiting(carol, brand):
    switch_digest(carol, True)
    run_worker_once()
    assert mail.outbox == []  # nothing waits
    switch_digest(carol, False)
    ask(brand, 2)
    worker_again()
    assert mail.outbox == []


def test_a_digest_task_run_twice_sends_one_e_mail(carol, brand):
    from experts.tasks import email_digest

    switch_digest(carol, True)
    ask(brand, 1)
    assert email_digest.call(expert_id=carol.pk, key="experts.digest:test") is True
    assert email_digest.call(expert_id=carol.pk, key="experts.digest:test") is False
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == "1 question waiting on Acme Outdoor"


def test_no_digest_while_a_dashboard_is_open(carol, brand):
    from experts.models import ExpertConnection

    switch_digest(carol, True)
    ExpertConnection.objects.create(expert=carol, channel_name="specific.test!dashboard")
    ask(brand, 2)
    run_worker_once()
    assert mail.outbox == []
    ExpertConnection.objects.all().delete()  # closed: the digest comes
    worker_again()
    assert [m.subject for m in mail.outbox] == ["2 questions waiting on Acme Outdoor"]
