"""Background work: the durable queue, its worker, the sweeps and once-only e-mail.

The API the apps use (docs/architecture.md, "Background work"):

- ``@task`` (django-tasks) on a module-level function in an app's ``tasks.py``;
  ``enqueue(some_task, **kwargs)`` from a service. The task is a database row
  written in the caller's transaction: rolled back, it never runs; committed,
  it survives any restart. Arguments are JSON (ids, not model instances).
- ``send_mail_once(key=..., ...)`` inside a task: the e-mail leaves at most once per key;
  ``claim_once(key)`` for any other side effect (a push).
- A sweep: a function with no arguments named in ``CHAT_WORKER_SWEEPS``; one
  worker at a time runs it every so many seconds.

``manage.py chat_worker`` runs all of it (``--once``: what is due, then exit).
With the in-memory channel layer (no REDIS_URL) the events a task or sweep sends
(a conversation ended) reach only sockets of its own process: there the server
runs the worker itself (``CHAT_WORKER_IN_SERVER=1``, what ``make run`` sets).
django-tasks' database worker has no retries and leaves a task whose worker was
killed "running" for ever; ``ChatWorker`` adds both (backoff, lease) on top of it.
"""

import asyncio
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from asgiref.sync import SyncToAsync

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus, task  # noqa: F401  (the apps' tasks use `from chatplatform.worker import task`)
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from .models import SentOnce, SweepSchedule

logger = logging.getLogger(__name__)

BACKEND = "default"
MAX_RETRY_DELAY_SECONDS = 3600


def enqueue(some_task, **kwargs):
    """Queue ``some_task(**kwargs)`` in the current transaction; return its result handle.

    One INSERT on the caller's connection: no broker round trip on a socket's path.
    """
    return some_task.enqueue(**kwargs)


def retry_delay(attempts: int) -> float:
    """Seconds before the next run of a task that has failed ``attempts`` times."""
    return min(settings.CHAT_WORKER_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_DELAY_SECONDS)


# --- once-only side effects -------------------------------------------------------------

def claim_once(key: str) -> SentOnce | None:
    """Take ``key`` for a side effect about to happen (an e-mail, a push); None if it was taken before.

    The caller does the deed, then marks the row ``sent``; or deletes it when
    nothing left (so a retry may try again).
    """
    try:
        with transaction.atomic():
            return SentOnce.objects.create(key=key)
    except IntegrityError:
        return None


def send_mail_once(*, key: str, subject: str, body: str, recipients: list[str], headers: dict | None = None,
                   html: str | None = None) -> bool:
    """Send one e-mail unless one was already sent for ``key``; return whether it left now.

    At most once: the key is committed before sending. If the mail server cannot
    be reached (connect, greeting, login), nothing left, the key is dropped and
    the error raised, so the task is retried. If it fails later, the server may
    have the message: the key stays (``uncertain``) and it is not sent again.
    ``headers`` (e.g. List-Unsubscribe) go on the message; ``html``, an alternative to the plain text.
    """
    once = claim_once(key)
    if once is None:
        return False
    connection = get_connection(fail_silently=False)  # SMTP: EMAIL_TIMEOUT bounds each wait
    try:
        connection.open()
    except BaseException:
        once.delete()
        raise
    try:
        message = EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, connection=connection,
                                         headers=headers)
        if html is not None:
            message.attach_alternative(html, "text/html")
        message.send()
    except Exception as exc:
        SentOnce.objects.filter(pk=once.pk).update(state=SentOnce.State.UNCERTAIN)
        logger.warning("e-mail %s failed after the server took it in part (%s); not sent again", key, type(exc).__name__)
        return False
    finally:
        connection.close()
    SentOnce.objects.filter(pk=once.pk).update(state=SentOnce.State.SENT)
    return True


# --- the worker -------------------------------------------------------------------------

class ChatWorker(Worker):
    """django-tasks' database worker, with retries: a failed run is queued again after a backoff.

    A task keeps its row across attempts; ``worker_ids`` counts them.
    """

    def __init__(self, *, worker_id: str | None = None):
        super().__init__(
            queue_names=["*"], excluded_queue_names=[], interval=0, batch=True, backend_name=BACKEND,
            startup_delay=False, max_tasks=None, worker_id=worker_id or get_random_string(32),
        )

    def run_task(self, db_task_result: DBTaskResult) -> None:
        super().run_task(db_task_result)
        if db_task_result.status != TaskResultStatus.FAILED:
            return
        attempts = len(db_task_result.worker_ids)
        if attempts >= settings.CHAT_WORKER_MAX_ATTEMPTS:
            logger.error("task %s failed %d times, given up: %s", db_task_result.task_path, attempts,
                         db_task_result.exception_class_path)
            return
        delay = retry_delay(attempts)
        DBTaskResult.objects.filter(pk=db_task_result.pk, status=TaskResultStatus.FAILED).update(
            status=TaskResultStatus.READY, run_after=timezone.now() + timedelta(seconds=delay), finished_at=None
        )
        logger.warning("task %s failed (%s), attempt %d; runs again in %.0f s", db_task_result.task_path,
                       db_task_result.exception_class_path, attempts, delay)


def recover_abandoned_tasks(now=None) -> int:
    """Queue again the tasks whose worker died while running them (past the lease); return how many."""
    now = now or timezone.now()
    stale = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=now - timedelta(seconds=settings.CHAT_WORKER_LEASE_SECONDS)
    )
    recovered = 0
    for row in stale.only("pk", "worker_ids", "task_path"):
        out_of_attempts = len(row.worker_ids) >= settings.CHAT_WORKER_MAX_ATTEMPTS
        changes = {"status": TaskResultStatus.FAILED, "finished_at": now} if out_of_attempts else {
            "status": TaskResultStatus.READY, "run_after": now}
        # Conditional: another worker recovering the same row at once changes nothing.
        if DBTaskResult.objects.filter(pk=row.pk, status=TaskResultStatus.RUNNING).update(**changes):
            recovered += 1
            logger.warning("task %s was abandoned by its worker; %s", row.task_path,
                           "given up" if out_of_attempts else "queued again")
    return recovered


def run_due_sweeps(now=None) -> list[str]:
    """Run each sweep that is due and that no other worker took first; return their names."""
    ran = []
    for name, (path, every) in settings.CHAT_WORKER_SWEEPS.items():
        at = now or timezone.now()
        SweepSchedule.objects.get_or_create(name=name, defaults={"next_run_at": at})
        taken = SweepSchedule.objects.filter(name=name, next_run_at__lte=at).update(
            next_run_at=at + timedelta(seconds=every), last_started_at=at
        )
        if not taken:
            continue
        try:
            result = import_string(path)()
        except Exception:  # the next run tries again; one sweep's bug must not stop the others
            logger.exception("sweep %s failed", name)
        else:
            ran.append(name)
            if result:
                logger.info("sweep %s: %s", name, result)
    return ran


def run_once(worker: ChatWorker | None = None) -> ChatWorker:
    """One pass: recover abandoned tasks, run the sweeps that are due, then every task that is due."""
    worker = worker or ChatWorker()
    recover_abandoned_tasks()
    run_due_sweeps()
    worker.run()
    return worker


def run_forever(worker: ChatWorker) -> None:
    """Pass after pass until a signal stops the worker (after the task it is running)."""
    worker.configure_signals()
    while worker.running:
        run_once(worker)
        if worker.running:
            time.sleep(settings.CHAT_WORKER_INTERVAL_SECONDS)


# --- inside the server (the in-memory channel layer) ------------------------------------

def start_in_server() -> bool:
    """Under daphne with CHAT_WORKER_IN_SERVER: run the worker's passes in this process; return whether it will."""
    if not settings.CHAT_WORKER_IN_SERVER or "twisted.internet.reactor" not in sys.modules:
        return False
    from twisted.internet import reactor

    reactor.callWhenRunning(lambda: asyncio.ensure_future(_passes_in_server()))
    return True


async def _passes_in_server() -> None:
    # One thread of its own, off the sockets' database threads; called through asgiref so that
    # the events its work sends are handed to this loop (chatplatform/events.py).
    run_pass = SyncToAsync(run_once, thread_sensitive=False, executor=ThreadPoolExecutor(1, "chat-worker"))
    worker = ChatWorker()
    while True:
        try:
            await run_pass(worker)
        except Exception:  # the database is away for a moment: the next pass tries again
            logger.exception("worker pass failed")
        await asyncio.sleep(settings.CHAT_WORKER_INTERVAL_SECONDS)
