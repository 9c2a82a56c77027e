"""A/B in one process: a chat message stored through the database thread or from the event loop.

The two ways the visitor socket can store a message on PostgreSQL (docs/performance.md):

* ``thread``: the message store's thread way (``visitors.store._thread_visitor`` in
  ``chatplatform.db.database_sync_to_async``), the way every message went before (the
  pool of database threads, Django's connection);
* ``loop``: the store's loop way (``visitors.store._loop_store``) on the loop's own psycopg
  connections (chatplatform/asyncdb.py), block check included.

Many conversations send at once; the variants alternate (A B A B ...) so the
machine's noise hits both. Prints process CPU milliseconds per message
(threads included) and messages per second.

    SECRET_KEY=bench-only DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatbench taskset -c 0 python -m bench.hotpath_loop

(any migrated database; bench/run.py leaves ``chatbench`` after a run). Not with DEBUG=1:
Django then records every query, which the thread's path would pay for and the loop's not.
``taskset -c 0`` pins it to one core, as the benchmark pins the server.
"""

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="per conversation, per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatplatform.settings")
    import django

    django.setup()
    from chatplatform import asyncdb
    from chatplatform.db import database_sync_to_async
    from moderation.blocks import BlockPolicy
    from visitors import services, store
    from visitors.models import Brand, Conversation, Visitor
    from visitors.tokens import address_hashes

    if not asyncdb.enabled():
        raise SystemExit("needs PostgreSQL (DATABASE_URL) and CHAT_ASYNC_DB on")
    brand, _ = Brand.objects.get_or_create(slug="hotpath-loop", defaults={"name": "Hot path (loop)"})
    hashes = address_hashes("192.0.2.1")
    visitors = []
    for _ in range(args.conversations):
        visitor = Visitor.objects.create(brand=brand, token_hash=uuid.uuid4().hex)
        services.start_conversation(visitor=visitor, text="hello", client_id="start")
        visitors.append(Visitor.objects.select_related("brand").get(pk=visitor.pk))

    async def by_thread(visitor):
        blocks = BlockPolicy(visitor.brand, visitor, hashes)
        await database_sync_to_async(store._thread_visitor)(visitor=visitor, text="benchmark", client_id=uuid.uuid4().hex,
                                                             blocks=blocks, flagged=False)

    async def by_loop(visitor):
        blocks = BlockPolicy(visitor.brand, visitor, hashes)
        stored = await store._loop_store(
            store._visitor_seq_statement(visitor, blocks.condition()), author="visitor", expert_id=None,
            author_name="Visitor", text="benchmark", client_id=uuid.uuid4().hex,
        )
        assert stored is not None, "the loop's path fell back to the thread"

    variants = {"thread": by_thread, "loop": by_loop}

    async def one_round(send) -> tuple[float, float]:
        async def conversation(visitor):
            for _ in range(args.messages):
                await send(visitor)

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(conversation(v) for v in visitors))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        count = len(visitors) * args.messages
        await asyncio.sleep(0.3)  # let the doorbell events leave outside the next variant's timing
        return 1000 * cpu / count, count / wall

    async def run() -> dict:
        results = {name: [] for name in variants}
        for send in variants.values():
            await one_round(send)  # warm up connections, prepared statements, caches
        for _ in range(args.rounds):
            for name, send in variants.items():
                results[name].append(await one_round(send))
        await asyncdb.close()
        return {
            name: {
                "cpu_ms_per_message": round(statistics.median(r[0] for r in rounds), 3),
                "messages_per_second": round(statistics.median(r[1] for r in rounds), 1),
                "rounds": [[round(c, 3), round(m, 1)] for c, m in rounds],
            }
            for name, rounds in results.items()
        }

    result = asyncio.run(run())
    Conversation.objects.filter(brand=brand).update(status="ended")
    result["ratio_loop_to_thread_cpu"] = round(result["loop"]["cpu_ms_per_message"] / result["thread"]["cpu_ms_per_message"], 2)
    print(json.dumps({"conversations": args.conversations, "messages_per_round": args.conversations * args.messages, **result}, indent=2))


if __name__ == "__main__":
    main()
