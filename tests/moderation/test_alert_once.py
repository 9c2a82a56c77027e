"""The automatic alerts are raised once (per conversation, per visitor and hour) by a constraint, not a read.

Checked with a read first, two processes noting the same flood or abuse at
the same moment both found no alert and both raised one.
"""

import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction

from moderation import services
from moderation.models import Alert, ModerationEvent
from visitors.models import Conversation, Message, Visitor

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def visitor(brand):
    return Visitor.objects.create(brand=brand, nickname="Sam", token_hash="a" * 64)


def flood(visitor):
    return lambda: services.note_flooding(visitor=visitor)


def abuse(visitor, settings):
    settings.ABUSE_ALERT_THRESHOLD = 1
    conversation = Conversation.objects.create(brand=visitor.brand, visitor=visitor)
    message = Message.objects.create(conversation=conversation, seq=1, author=Message.Author.VISITOR, text="idiot", flagged=True)
    return lambda: services.note_flagged_message(message=message)


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["flood", "abuse"])
def test_two_processes_noting_the_same_thing_at_once_raise_one_alert(visitor, settings, kind):
    note = flood(visitor) if kind == "flood" else abuse(visitor, settings)
    first_inserted, results = threading.Event(), {}

    def first():
        try:
            with transaction.atomic():
                results["first"] = note()
                first_inserted.set()
                time.sleep(0.5)  # the second one reads now, and sees nothing committed yet
        finally:
            connection.close()

    def second():
        first_inserted.wait(5)
        try:
            results["second"] = note()
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results["first"] is not None and results["second"] is None
    assert Alert.objects.filter(kind=kind).count() == 1
    if kind == "flood":
        assert ModerationEvent.objects.filter(action="flood").count() == 1


def test_a_flooding_visitor_is_alerted_once_an_hour_and_other_visitors_still_are(visitor, brand):
    assert services.note_flooding(visitor=visitor) is not None
    assert services.note_flooding(visitor=visitor) is None
    other = Visitor.objects.create(brand=brand, nickname="Kim", token_hash="b" * 64)
    assert services.note_flooding(visitor=other) is not None
    assert Alert.objects.filter(kind="flood").count() == 2


def test_the_database_refuses_a_second_alert_with_the_same_key(brand):
    Alert.objects.create(brand=brand, kind="flood", dedupe_key="flood:1:2026120612")
    Alert.objects.create(brand=brand, kind="expert")  # no key: no limit
    Alert.objects.create(brand=brand, kind="expert")
    with pytest.raises(IntegrityError):
        Alert.objects.create(brand=brand, kind="flood", dedupe_key="flood:1:2026120612")
