"""A/B of the message hot path in one process, without sockets: what each optimisation buys.

Sends messages the way the visitor consumer does (``database_sync_to_async``
around ``send_visitor_message``, on the real channel layer), from many
conversations at once, and reports messages per second through Channels'
one database thread. Variants alternate (A B A B …) so the machine's noise
hits both alike:

* ``events=blocking``: the layer send blocks the database thread (async_to_sync), as before;
* ``events=loop``: the send is handed to the event loop (chatplatform/events.py);
* ``sql=orm``: the ORM path (six statements);
* ``sql=fast``: UPDATE … RETURNING + INSERT … ON CONFLICT (PostgreSQL).

Run by ``python -m bench.hotpath`` with DATABASE_URL and REDIS_URL set (bench/run.py's
database ``chatbench`` after a run, or any migrated database).
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
    parser.add_argument("--variants", default="blocking+orm,loop+orm,loop+fast")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatplatform.settings")
    import django

    django.setup()
    from channels.db import database_sync_to_async

    from chatplatform import events
    from visitors import services, store
    from visitors.models import Brand, Conversation, Visitor

    brand, _ = Brand.objects.get_or_create(slug="hotpath", defaults={"name": "Hot path"})
    visitors = []
    for _ in range(args.conversations):
        visitor = Visitor.objects.create(brand=brand, token_hash=uuid.uuid4().hex)
        services.start_conversation(visitor=visitor, text="hello", client_id="start")
        visitors.append(visitor)

    real_loop, real_fast = getattr(events, "_server_loop", None), getattr(store, "backend", None)

    def configure(variant: str) -> None:
        ev, sql = variant.split("+")
        if real_loop is not None:
            events._server_loop = real_loop if ev == "loop" else (lambda: None)
        elif ev == "loop":
            raise SystemExit("this checkout has no loop hand-over in chatplatform/events.py")
        if real_fast is not None:
            store.backend = real_fast if sql == "fast" else (lambda: "orm")
        elif sql == "fast":
            raise SystemExit("this checkout has no fast path in visitors/store.py")

    send = database_sync_to_async(services.send_visitor_message)

    async def one_round(variant: str) -> float:
        configure(variant)

        async def conversation(visitor):
            for _ in range(args.messages):
                await send(visitor=visitor, text="benchmark", client_id=uuid.uuid4().hex)

        start = time.perf_counter()
        await asyncio.gather(*(conversation(v) for v in visitors))
        elapsed = time.perf_counter() - start
        await asyncio.sleep(0.5)  # let handed-over sends finish outside the timing of the next variant
        return len(visitors) * args.messages / elapsed

    async def run() -> dict:
        variants = args.variants.split(",")
        rates = {v: [] for v in variants}
        await one_round(variants[0])  # warm up connections and caches
        for _ in range(args.rounds):
            for variant in variants:
                rates[variant].append(await one_round(variant))
        return {v: {"median_msg_per_s": round(statistics.median(r), 1), "rounds": [round(x, 1) for x in r]} for v, r in rates.items()}

    result = asyncio.run(run())
    Conversation.objects.filter(brand=brand).update(status="ended")
    print(json.dumps({"conversations": args.conversations, "messages_per_round": args.conversations * args.messages, "variants": result}, indent=2))


if __name__ == "__main__":
    main()
