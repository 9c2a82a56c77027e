"""The background worker's own records (chatplatform/worker.py): the sweeps' schedule and the once-only keys.

The tasks themselves are django-tasks' rows (``django_tasks_db.DBTaskResult``).
"""

from django.db import models


class SweepSchedule(models.Model):
    """When one sweep (a CHAT_WORKER_SWEEPS entry) is next due.

    A worker runs the sweep only if it moves ``next_run_at`` forward itself
    (one conditional UPDATE), so two workers never sweep at once.
    """

    name = models.CharField(max_length=50, primary_key=True)
    next_run_at = models.DateTimeField()
    last_started_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Sweep {self.name} (next {self.next_run_at:%Y-%m-%d %H:%M:%S})"


class SentOnce(models.Model):
    """One side effect (an e-mail, later a push) that must happen at most once, by its key.

    The row is committed before the e-mail leaves: a retry, a duplicate enqueue
    or a second worker finds it and sends nothing (docs/architecture.md).
    """

    class State(models.TextChoices):
        SENDING = "sending"
        SENT = "sent"
        # The server was talking when the send failed: it may have accepted the message,
        # so it is not sent again (at most once).
        UNCERTAIN = "uncertain"

    # What was sent and about what, e.g. "moderation.alert:42"; never personal data.
    key = models.CharField(max_length=200, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SENDING)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.key} ({self.state})"
