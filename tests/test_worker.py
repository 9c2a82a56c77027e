"""The background worker (chatplatform/worker.py, `manage.py chat_worker`): through the real queue and processes.

Each test is transactional: the worker, like the real one, checks its connection between tasks
(close_old_connections), which a test wrapped in one transaction would not survive.
"""

import io
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from chatplatform import worker
from chatplatform.models import SentOnce, SweepSchedule
from tests import worker_tasks
from tests.e2e.servers import ROOT, VAR, server_env
from tests.support import run_worker_once


def _row(result) -> DBTaskResult:
    return DBTaskResult.objects.get(pk=result.id)


@pytest.mark.django_db(transaction=True)
def test_once_runs_the_due_tasks_and_exits_leaving_later_ones():
    due = worker.enqueue(worker_tasks.flaky, key="due", failures=0)
    later = worker.enqueue(worker_tasks.flaky.using(run_after=timezone.now() + timedelta(hours=1)), key="later", failures=0)
    call_command("chat_worker", "--once", stdout=io.StringIO())
    assert _row(due).status == TaskResultStatus.SUCCESSFUL
    assert _row(later).status == TaskResultStatus.READY and "later" not in worker_tasks.RUNS


@pytest.mark.django_db(transaction=True)
def test_a_failing_task_runs_again_after_a_growing_backoff_then_succeeds(settings):
    settings.CHAT_WORKER_RETRY_SECONDS = 30
    result = worker.enqueue(worker_tasks.flaky, key="retry", failures=2)
    before = timezone.now()
    run_worker_once()
    row = _row(result)
    assert row.status == TaskResultStatus.READY and worker_tasks.RUNS["retry"] == 1
    assert timedelta(seconds=29) < row.run_after - before < timedelta(seconds=35)
    run_worker_once()  # not due yet: not run
    assert worker_tasks.RUNS["retry"] == 1
    DBTaskResult.objects.filter(pk=row.pk).update(run_after=timezone.now())  # the 30 s have passed
    before = timezone.now()
    run_worker_once()
    row = _row(result)
    assert worker_tasks.RUNS["retry"] == 2 and timedelta(seconds=59) < row.run_after - before < timedelta(seconds=65)
    DBTaskResult.objects.filter(pk=row.pk).update(run_after=timezone.now())
    run_worker_once()
    row = _row(result)
    assert row.status == TaskResultStatus.SUCCESSFUL and row.return_value == 3 and len(row.worker_ids) == 3


@pytest.mark.django_db(transaction=True)
def test_a_task_that_keeps_failing_is_given_up_after_the_last_attempt(settings):
    settings.CHAT_WORKER_MAX_ATTEMPTS = 2
    settings.CHAT_WORKER_RETRY_SECONDS = 0
    result = worker.enqueue(worker_tasks.flaky, key="hopeless", failures=10)
    for _ in range(4):
        run_worker_once()
    assert worker_tasks.RUNS["hopeless"] == 2
    assert _row(result).status == TaskResultStatus.FAILED and "ConnectionError" in _row(result).exception_class_path


@pytest.mark.django_db(transaction=True)
def test_a_task_rolled_back_with_its_cause_never_runs():
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        worker.enqueue(worker_tasks.flaky, key="rolled-back", failures=0)
        raise RuntimeError("the change that caused it failed")
    run_worker_once()
    assert DBTaskResult.objects.count() == 0 and "rolled-back" not in worker_tasks.RUNS


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_run_each_task_once():
    import threading

    from django.db import connection

    results = [worker.enqueue(worker_tasks.mark, key=f"pair:{n}") for n in range(30)]
    errors = []

    def one_worker():
        try:
            run_worker_once()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one_worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    rows = DBTaskResult.objects.filter(pk__in=[r.id for r in results])
    # mark() would fail on its unique key if it ran twice; each ran once, by one of the two.
    assert {(row.status, len(row.worker_ids)) for row in rows} == {(TaskResultStatus.SUCCESSFUL, 1)}
    assert SentOnce.objects.filter(key__startswith="pair:").count() == 30


def _worker_process(**env):
    log = open(VAR / "worker-test.log", "w+")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "manage.py", "chat_worker"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env=server_env(CHAT_WORKER_INTERVAL_SECONDS="0.1", **env),
    ), log


def _wait_for(predicate, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_task_whose_worker_is_killed_while_running_it_is_run_by_the_next_worker(settings):
    result = worker.enqueue(worker_tasks.mark, key="survivor", hang_first_seconds=60)
    process, log = _worker_process()
    try:
        assert _wait_for(lambda: _row(result).status == TaskResultStatus.RUNNING), "the worker never took the task"
        process.send_signal(signal.SIGKILL)  # no goodbye: the row stays "running"
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    assert _row(result).status == TaskResultStatus.RUNNING and not SentOnce.objects.filter(key="survivor").exists()
    run_worker_once()  # within the lease: the first worker might still be at it
    assert _row(result).status == TaskResultStatus.RUNNING
    settings.CHAT_WORKER_LEASE_SECONDS = 0
    run_worker_once()
    assert _row(result).status == TaskResultStatus.SUCCESSFUL and len(_row(result).worker_ids) == 2
    assert SentOnce.objects.filter(key="survivor").count() == 1


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_queued_task_waits_for_a_worker_and_a_stopped_worker_finishes_its_task_first():
    result = worker.enqueue(worker_tasks.mark, key="graceful", hang_first_seconds=1)
    process, log = _worker_process()
    try:
        assert _wait_for(lambda: _row(result).status == TaskResultStatus.RUNNING)
        process.send_signal(signal.SIGTERM)  # e.g. systemctl stop: the task in hand is finished
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    assert _row(result).status == TaskResultStatus.SUCCESSFUL and SentOnce.objects.filter(key="graceful").count() == 1


# --- once-only e-mail -------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_one_e_mail_per_key_whatever_the_duplicates_and_reruns(settings):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from moderation.models import Alert
    from moderation.permissions import COMMUNITY_MANAGERS
    from moderation.tasks import email_alert
    from visitors.models import Brand

    carol = get_user_model().objects.create_user("carol", email="carol@example.test")
    carol.groups.add(Group.objects.get_or_create(name=COMMUNITY_MANAGERS)[0])
    alert = Alert.objects.create(brand=Brand.objects.create(slug="acme", name="Acme"), kind=Alert.Kind.FLOOD, note="Look")
    for _ in range(2):  # a duplicate enqueue
        worker.enqueue(email_alert, alert_id=alert.pk)
    run_worker_once()
    run_worker_once()
    assert [m.subject for m in mail.outbox] == ["[Acme] " + alert.get_kind_display()]
    assert email_alert.call(alert_id=alert.pk) is False  # a re-run (e.g. after its worker was killed)
    assert len(mail.outbox) == 1 and SentOnce.objects.get(key=f"moderation.alert:{alert.pk}").state == "sent"


# --- the sweeps ---------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_sweep_runs_when_due_and_once_per_interval_across_workers(settings, monkeypatch):
    calls = []
    monkeypatch.setattr(worker_tasks, "sweep", lambda: calls.append(1), raising=False)
    settings.CHAT_WORKER_SWEEPS = {"test": ("tests.worker_tasks.sweep", 60)}
    assert worker.run_due_sweeps() == ["test"]
    assert worker.run_due_sweeps() == []  # another worker, or the next pass: not due for a minute
    assert len(calls) == 1
    SweepSchedule.objects.filter(name="test").update(next_run_at=timezone.now())
    assert worker.run_due_sweeps() == ["test"] and len(calls) == 2
