"""The push sweep's cost (docs/architecture.md, "Background work"): not part of `make bench`.

A scratch database with many experts, questions and messages; the time of one
`experts.tasks.push_sweep()` run and its statements, in the steady state (every
event already pushed: what most runs find) and with nobody to notify.

    python -m bench.push_sweep --database-url postgres://postgres@127.0.0.1:5432/bench_push   # created, migrated, filled
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=f"sqlite:///{ROOT / 'var' / 'bench-push.sqlite3'}")
    parser.add_argument("--experts", type=int, default=500)
    parser.add_argument("--brands", type=int, default=20)
    parser.add_argument("--waiting", type=int, default=2000)
    parser.add_argument("--active", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=40, help="per active conversation")
    parser.add_argument("-n", type=int, default=50)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("VAPID_PUBLIC_KEY", "bench")
    os.environ.setdefault("VAPID_PRIVATE_KEY", "bench")
    os.environ["DJANGO_SETTINGS_MODULE"] = "chatplatform.settings"
    (ROOT / "var").mkdir(exist_ok=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from experts.models import ExpertConnection, ExpertProfile, PushNotice, PushSubscription
    from experts.tasks import push_sweep
    from visitors.models import Brand, Conversation, Message, Visitor

    if not Brand.objects.filter(slug="bench-push-0").exists():
        now = timezone.now()
        brands = Brand.objects.bulk_create([Brand(slug=f"bench-push-{i}", name=f"Brand {i}") for i in range(args.brands)])
        users = get_user_model().objects.bulk_create(
            [get_user_model()(username=f"bench-push-{i}") for i in range(args.experts)])
        experts = ExpertProfile.objects.bulk_create([ExpertProfile(user=u, display_name=u.username) for u in users])
        Through = ExpertProfile.brands.through
        Through.objects.bulk_create([Through(expertprofile_id=e.pk, brand_id=brands[i % args.brands].pk) for i, e in enumerate(experts)]
                                    + [Through(expertprofile_id=e.pk, brand_id=brands[(i + 1) % args.brands].pk) for i, e in enumerate(experts)])
        PushSubscription.objects.bulk_create([PushSubscription(expert=e, endpoint=f"https://push.example.test/{e.pk}",
                                                               p256dh="x", auth="y") for e in experts])
        # A tenth of them have a dashboard open.
        ExpertConnection.objects.bulk_create([ExpertConnection(expert=e, channel_name=f"bench.{e.pk}") for e in experts[::10]])
        visitors = Visitor.objects.bulk_create([Visitor(brand=brands[i % args.brands], token_hash=uuid.uuid4().hex * 2)
                                                for i in range(args.waiting + args.active)])
        waiting = [Conversation(brand=v.brand, visitor=v) for v in visitors[:args.waiting]]
        active = [Conversation(brand=v.brand, visitor=v, expert=experts[i % args.experts], status="active",
                               last_seq=args.messages, expert_read_seq=args.messages - (i % 3))
                  for i, v in enumerate(visitors[args.waiting:])]
        Conversation.objects.bulk_create(waiting + active)
        # Questions over the last week (a few in the lookback), as the queue holds them.
        for i, c in enumerate(waiting):
            c.created_at = now - timedelta(minutes=(i * 7 * 24 * 60) // args.waiting)
        Conversation.objects.bulk_update(waiting, ["created_at"], batch_size=1000)
        Message.objects.bulk_create([Message(conversation=c, seq=s, author="visitor" if s % 2 else "expert", text="x")
                                     for c in active for s in range(1, args.messages + 1)], batch_size=5000)
    PushNotice.objects.all().delete()
    DBTaskResult.objects.all().delete()

    first = push_sweep()
    print(f"first run (everything new): {first}, {DBTaskResult.objects.count()} tasks queued")

    def timed(label):
        times = []
        for _ in range(args.n):
            started = time.perf_counter()
            push_sweep()
            times.append((time.perf_counter() - started) * 1000)
        from django.conf import settings

        settings.DEBUG = True
        reset_queries()
        push_sweep()
        queries = len(connection.queries)
        print(f"{label}: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms, {queries} statements")

    timed(f"steady state ({args.experts} experts subscribed, {args.waiting} waiting, {args.active} active, "
          f"{Message.objects.count()} messages)")
    subscriptions = list(PushSubscription.objects.values_list("expert_id", "endpoint", "p256dh", "auth"))
    PushSubscription.objects.all().delete()
    timed("nobody subscribed")
    PushSubscription.objects.bulk_create([PushSubscription(expert_id=e, endpoint=u, p256dh=p, auth=a) for e, u, p, a in subscriptions])


if __name__ == "__main__":
    main()
