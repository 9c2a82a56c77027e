"""Tasks the worker tests queue (importable by a worker process: tasks are found by their dotted path)."""

import time

from chatplatform.models import SentOnce
from chatplatform.worker import task

# Runs of ``flaky`` in this process, by key.
RUNS: dict[str, int] = {}


@task()
def flaky(*, key: str, failures: int) -> int:
    """Fail the first ``failures`` runs, then succeed; return the number of this run."""
    RUNS[key] = RUNS.get(key, 0) + 1
    if RUNS[key] <= failures:
        raise ConnectionError(f"run {RUNS[key]} of {key} fails")
    return RUNS[key]


@task(takes_context=True)
def mark(context, *, key: str, hang_first_seconds: float = 0) -> None:
    """Record ``key`` as a SentOnce row (seen from any process); the first attempt may hang first."""
    if context.attempt == 1 and hang_first_seconds:
        time.sleep(hang_first_seconds)
    SentOnce.objects.create(key=key, state=SentOnce.State.SENT)
