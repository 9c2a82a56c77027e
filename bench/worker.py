"""The background worker's figures (docs/architecture.md, "Background work"): not part of `make bench`.

* enqueue: what queuing the managers' e-mail adds to the transaction that raised
  the alert (the socket's database thread), against the old send on commit with
  the in-memory mail backend (the floor: a real SMTP server costs a round trip
  or, hung, up to EMAIL_TIMEOUT);
* pickup: from enqueue to the task's start, with a `chat_worker` process polling
  at CHAT_WORKER_INTERVAL_SECONDS.

    DEBUG=1 python -m bench.worker [--database-url postgres://...]   # a scratch database: migrated, then tasks added
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=f"sqlite:///{ROOT / 'var' / 'bench-worker.sqlite3'}")
    parser.add_argument("-n", type=int, default=2000)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "chatplatform.settings"
    (ROOT / "var").mkdir(exist_ok=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)

    import django

    django.setup()
    from django.conf import settings
    from django.core.mail import send_mail
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    from chatplatform.models import SentOnce
    from chatplatform.worker import enqueue
    from moderation.tasks import email_alert

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    DBTaskResult.objects.all().delete()
    SentOnce.objects.all().delete()

    def per_call(action) -> float:
        started = time.perf_counter()
        for n in range(args.n):
            with transaction.atomic():
                action(n)
        return (time.perf_counter() - started) / args.n * 1e6

    # The alert's transaction writes rows anyway (Alert, ModerationEvent): its commit's flush is paid
    # either way, so the baseline writes one row too (a SentOnce, as small).
    def alert(n):
        SentOnce.objects.create(key=f"row:{n}:{time.perf_counter_ns()}")

    def queued(n):
        alert(n)
        enqueue(email_alert, alert_id=n)

    def sent(n):
        alert(n)
        transaction.on_commit(lambda: send_mail("Alert", "Look", "a@x.test", ["b@x.test"]))

    base = per_call(alert)
    with_enqueue = per_call(queued)
    with_send = per_call(sent)
    print(f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}: a one-row transaction {base:.0f} µs; "
          f"with the enqueue +{with_enqueue - base:.0f} µs; with the old send on commit (locmem) +{with_send - base:.0f} µs")
    DBTaskResult.objects.all().delete()
    SentOnce.objects.all().delete()

    worker = subprocess.Popen([sys.executable, "manage.py", "chat_worker"], cwd=ROOT, env={**os.environ, "EMAIL_BACKEND":
                              "django.core.mail.backends.locmem.EmailBackend"}, stdout=subprocess.DEVNULL)
    try:
        time.sleep(3)
        results = []
        for n in range(20):
            results.append(enqueue(email_alert, alert_id=n))
            time.sleep(0.37)
        time.sleep(2)
        waits = [(row.started_at - row.enqueued_at).total_seconds()
                 for row in DBTaskResult.objects.filter(pk__in=[r.id for r in results])]
    finally:
        worker.terminate()
        worker.wait()
    print(f"pickup (enqueue to start), {len(waits)} tasks, interval {settings.CHAT_WORKER_INTERVAL_SECONDS} s: "
          f"median {statistics.median(waits):.2f} s, max {max(waits):.2f} s")


if __name__ == "__main__":
    main()
