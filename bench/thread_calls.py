"""What a database call on the sockets' threads costs with Django's ping before each, and with ours.

A read mark is one short statement on a thread (``_read``). With
``DB_CONN_HEALTH_CHECKS`` Django pings (``SELECT 1``) before the first query of
every call: two round trips, two PostgreSQL transactions. chatplatform/db.py
pings only a connection that may be dead. Calls the pool the way the sockets
do (``database_sync_to_async``, 8 threads, many callers at once), the two
variants alternating (A B A B) so the machine's noise hits both:

* ``ping``: Django's check before every call (our check switched off);
* ``ours``: the ping only when something arrived on the idle socket or it idled past the limit.

Prints per call: PostgreSQL transactions (``pg_stat_database``) and the
process's CPU. Run with DATABASE_URL (any migrated PostgreSQL database, e.g.
the benchmark's after a run) and SECRET_KEY:

    python -m bench.thread_calls [--calls 4000] [--rounds 3]
"""

import argparse
import asyncio
import json
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatplatform.settings")
    import django

    django.setup()
    from django.db import connection

    from chatplatform import db
    from visitors.models import Brand

    def one_statement():  # as short as a read mark's UPDATE
        return Brand.objects.filter(slug="none").exists()

    def xacts() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
            return cursor.fetchone()[0]

    call = db.database_sync_to_async(one_statement)
    ours = db._ping_only_if_needed

    async def run(variant: str) -> dict:
        db._ping_only_if_needed = ours if variant == "ours" else (lambda: None)
        per_caller = args.calls // args.callers

        async def caller():
            for _ in range(per_caller):
                await call()

        await asyncio.sleep(11)
        before_x = await asyncio.to_thread(xacts)
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(args.callers)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        # PostgreSQL 15 backends report their counts when idle, at most every 10 s (PGSTAT_IDLE_INTERVAL).
        await asyncio.sleep(11)
        after_x = await asyncio.to_thread(xacts)
        calls = per_caller * args.callers
        return {"variant": variant, "xact_per_call": round((after_x - before_x - 1) / calls, 2),
                "cpu_ms_per_call": round(cpu * 1000 / calls, 3), "calls_per_s": round(calls / wall)}

    async def rounds():
        await call()  # the threads and their connections made
        out = []
        for _ in range(args.rounds):
            for variant in ("ping", "ours"):
                out.append(await run(variant))
                print(json.dumps(out[-1]), flush=True)
        return out

    asyncio.run(rounds())


if __name__ == "__main__":
    main()
