"""Reads built by the ORM once and run again with new values (chatplatform/statements.py)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chatplatform.statements import Param, Statement
from experts.services import claim_conversation
from visitors.models import Conversation, Message, Visitor
from visitors.services import open_visitor_session, start_conversation

pytestmark = pytest.mark.django_db(transaction=True)

OPEN = [Conversation.Status.WAITING, Conversation.Status.ACTIVE]

open_conversation = Statement(
    lambda: Conversation.objects.select_related("brand", "visitor", "expert", "topic")
    .filter(visitor_id=Param("visitor", Visitor._meta.pk), status__in=OPEN)
    .order_by("-created_at")[:1]
)
messages_since = Statement(
    lambda: Message.objects.filter(
        conversation_id=Param("conversation", Conversation._meta.pk), seq__gt=Param("after", Message._meta.get_field("seq"))
    ).order_by("seq")
)
created_after = Statement(
    lambda: Conversation.objects.filter(created_at__gt=Param("since", Conversation._meta.get_field("created_at"))).values_list(
        "pk", flat=True
    )
)


def _visitor_with_conversation(brand, text):
    visitor, _ = open_visitor_session(brand=brand, token=None, nickname=None, address_hash="")
    return visitor, start_conversation(visitor=visitor, text=text, client_id=text)


def test_each_run_reads_with_its_own_values_and_gives_what_the_orm_gives(brand, alice):
    ann, ann_conversation = _visitor_with_conversation(brand, "first")
    ben, ben_conversation = _visitor_with_conversation(brand, "second")
    claim_conversation(expert=alice, conversation_id=ben_conversation.pk)

    for visitor, conversation in ((ann, ann_conversation), (ben, ben_conversation), (ann, ann_conversation)):
        read = open_conversation.first(visitor=visitor.pk)
        orm = Conversation.objects.select_related("expert").get(pk=conversation.pk)
        assert read.pk == conversation.pk
        assert (read.status, read.last_seq, read.created_at, read.expert_id) == (orm.status, orm.last_seq, orm.created_at, orm.expert_id)
    # select_related is filled in: no query for the related rows.
    read = open_conversation.first(visitor=ben.pk)
    with CaptureQueriesContext(connection) as queries:
        assert (read.visitor.pk, read.brand.slug, read.expert.display_name) == (ben.pk, "acme", alice.display_name)
    assert len(queries) == 0
    assert open_conversation.first(visitor=Visitor(brand=brand).pk) is None


def test_the_sql_is_built_once_and_new_values_still_reach_the_database(brand, monkeypatch):
    from django.db.models.sql.compiler import SQLCompiler

    _, conversation = _visitor_with_conversation(brand, "hello")
    for seq in range(2, 5):
        Message.objects.create(conversation=conversation, seq=seq, author=Message.Author.VISITOR, text=f"m{seq}", client_id=f"c{seq}")
    builds = []
    real_as_sql = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: builds.append(1) or real_as_sql(self, *a, **k))
    statement = Statement(messages_since.build)
    with CaptureQueriesContext(connection) as queries:
        assert [m.seq for m in statement.all(conversation=conversation.pk, after=0)] == [1, 2, 3, 4]
        assert [m.seq for m in statement.all(conversation=conversation.pk, after=2)] == [3, 4]
        assert statement.all(conversation=conversation.pk, after=4) == []
    assert len(queries) == 3
    assert len(builds) == 1


def test_a_time_is_a_value_of_each_run_not_frozen_at_the_first(brand):
    _, conversation = _visitor_with_conversation(brand, "hello")
    assert created_after.all(since=conversation.created_at - timedelta(seconds=1)) == [conversation.pk]
    assert created_after.all(since=timezone.now() + timedelta(seconds=1)) == []


def test_each_thread_runs_on_its_own_connection(brand):
    visitor, conversation = _visitor_with_conversation(brand, "hello")
    assert open_conversation.first(visitor=visitor.pk).pk == conversation.pk  # built on this thread first
    seen, errors = [], []

    def other_thread():
        try:
            seen.append(open_conversation.first(visitor=visitor.pk).pk)
        except Exception as exc:  # pragma: no cover - the assertion below says what failed
            errors.append(exc)
        finally:
            from django.db import connections

            connections.close_all()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join(10)
    assert errors == [] and seen == [conversation.pk]


def test_prefetching_is_refused_when_first_run():
    statement = Statement(lambda: Conversation.objects.prefetch_related("messages").filter(pk=Param("id", Conversation._meta.pk)))
    with pytest.raises(ValueError, match="cannot prefetch"):
        statement.first(id=None)


def test_an_update_statement_writes_each_runs_values_to_the_matching_row_only(brand):
    from chatplatform.statements import UpdateStatement

    ann, _ = _visitor_with_conversation(brand, "first")
    ben, _ = _visitor_with_conversation(brand, "second")
    touch = UpdateStatement(
        lambda: Visitor.objects.filter(pk=Param("visitor", Visitor._meta.pk)),
        last_seen=Param("seen", Visitor._meta.get_field("last_seen")),
        nickname="Ann",
    )
    later = timezone.now() + timedelta(minutes=5)
    assert touch.run(visitor=ann.pk, seen=later) == 1
    assert touch.run(visitor=Visitor(brand=brand).pk, seen=later) == 0
    ann.refresh_from_db(), ben.refresh_from_db()
    assert (ann.last_seen, ann.nickname) == (later, "Ann")
    assert ben.last_seen != later and ben.nickname != "Ann"


def test_a_delete_statement_deletes_the_matching_rows_and_refuses_what_would_cascade(brand, alice):
    from chatplatform.statements import DeleteStatement
    from experts.models import ExpertConnection

    for name in ("a", "b"):
        ExpertConnection.objects.create(channel_name=name, expert=alice, seen_at=timezone.now())
    forget = DeleteStatement(lambda: ExpertConnection.objects.filter(channel_name=Param("name", ExpertConnection._meta.get_field("channel_name"))))
    assert forget.run(name="a") == 1
    assert forget.run(name="a") == 0
    assert list(ExpertConnection.objects.values_list("channel_name", flat=True)) == ["b"]
    cascading = DeleteStatement(lambda: Conversation.objects.filter(pk=Param("id", Conversation._meta.pk)))
    with pytest.raises(ValueError, match="cannot cascade"):
        cascading.run(id=None)


def test_an_insert_statement_writes_a_row_the_orm_reads_back(brand, alice):
    from chatplatform.statements import InsertStatement
    from experts.models import ExpertConnection

    with pytest.raises(ValueError, match="missing: opened_at"):
        InsertStatement(ExpertConnection, ["channel_name", "expert", "seen_at"])  # no default is filled in
    insert = InsertStatement(ExpertConnection, ["channel_name", "expert", "opened_at", "seen_at"])
    seen = timezone.now() - timedelta(seconds=3)
    assert insert.run(channel_name="one", expert_id=alice.pk, opened_at=seen, seen_at=seen) == 1
    assert insert.run(channel_name="two", expert_id=alice.pk, opened_at=seen, seen_at=seen) == 1
    rows = list(ExpertConnection.objects.order_by("channel_name").values_list("channel_name", "expert_id", "opened_at", "seen_at"))
    assert rows == [("one", alice.pk, seen, seen), ("two", alice.pk, seen, seen)]
