"""What one reconnect costs the server: CPU per resumed socket, without the network.

A reconnect storm is bounded by this cost (docs/performance.md): every socket
comes back at once and the process has one core. This opens resuming sockets
through the real application (routing, middleware, consumers, the channel
layer, the database), in-process with Channels' test communicator, so neither
Twisted nor the load generator is in the figure, and prints the process's CPU
time per socket and the wall time of the whole batch:

* ``expert``: a signed-in expert with one active conversation connects and gets its welcome;
* ``visitor``: a visitor with a token and an active conversation says hello and gets its welcome.

Rounds alternate the kinds so the machine's noise hits both alike. Run by
``python -m bench.handshake`` with DATABASE_URL, REDIS_URL and SECRET_KEY set
(a PostgreSQL database of its own: it creates its data and ends its
conversations afterwards).
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
    parser.add_argument("--sockets", type=int, default=300, help="per kind, per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=300)
    parser.add_argument("--garbage", action="store_true",
                        help="then what one more batch of each kind leaves in reference cycles, by type, per socket")
    parser.add_argument("--profile", metavar="FILE",
                        help="write a cProfile of the measured rounds (not the setup) to FILE, for pstats")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatplatform.settings")
    import django

    django.setup()
    from channels.testing import WebsocketCommunicator
    from django.contrib.auth import get_user_model
    from django.db import connection

    from bench.seed import session_cookie
    from chatplatform.asgi import application
    from experts.models import ExpertProfile
    from experts.services import claim_conversation
    from visitors.models import Brand, Conversation
    from visitors.services import open_visitor_session, start_conversation

    run = uuid.uuid4().hex[:6]
    origin = "http://handshake.test"
    brand, _ = Brand.objects.get_or_create(slug=f"handshake-{run}", defaults={"name": "Handshake", "allowed_origins": origin})
    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"handshake-{run}-{i}", password="!") for i in range(args.sockets)])
    experts = ExpertProfile.objects.bulk_create(
        [ExpertProfile(user=u, display_name=f"Expert {i}", capacity=1, presence="away") for i, u in enumerate(users)]
    )
    ExpertProfile.brands.through.objects.bulk_create([ExpertProfile.brands.through(expertprofile_id=e.pk, brand_id=brand.pk) for e in experts])
    cookies, tokens = [], []
    for user, expert in zip(users, experts):
        cookies.append(session_cookie(user).encode())
        visitor, token = open_visitor_session(brand=brand, token=None, nickname=None, address_hash="")
        conversation = start_conversation(visitor=visitor, text="hello", client_id="start")
        claim_conversation(expert=expert, conversation_id=conversation.id)
        tokens.append(token)
    connection.cursor().execute("ANALYZE")

    async def expert_socket(i):
        c = WebsocketCommunicator(application, "/ws/v1/expert/", headers=[(b"cookie", cookies[i]), (b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")])
        ok, _ = await c.connect(timeout=60)
        assert ok
        frame = await c.receive_json_from(timeout=60)
        assert frame["type"] == "welcome" and len(frame["conversations"]) == 1, frame
        return c

    async def visitor_socket(i):
        c = WebsocketCommunicator(application, f"/ws/v1/visitor/{brand.slug}/", headers=[(b"host", b"127.0.0.1"), (b"origin", origin.encode())])
        ok, _ = await c.connect(timeout=60)
        assert ok
        await c.send_json_to({"type": "hello", "token": tokens[i], "last_seq": 1})  # has its first message
        frame = await c.receive_json_from(timeout=60)
        assert frame["type"] == "welcome" and frame["conversation"] is not None, frame
        return c

    async def batch(kind: str) -> tuple[float, float, float]:
        opener = expert_socket if kind == "expert" else visitor_socket
        semaphore = asyncio.Semaphore(args.concurrency)

        async def one(i):
            async with semaphore:
                return await opener(i)

        cpu, wall = time.process_time(), time.perf_counter()
        sockets = await asyncio.gather(*(one(i) for i in range(args.sockets)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        closing = time.process_time()
        await asyncio.gather(*(c.disconnect() for c in sockets))
        await asyncio.sleep(0.5)  # their disconnects' work stays out of the next figure
        closing = time.process_time() - closing
        return cpu * 1000 / args.sockets, wall, closing * 1000 / args.sockets

    async def measure() -> dict:
        await batch("expert")  # warm up connections, caches, the planner
        await batch("visitor")
        figures = {"expert": [], "visitor": []}
        for _ in range(args.rounds):
            for kind in figures:
                figures[kind].append(await batch(kind))
        return {
            kind: {
                "cpu_ms_per_socket": round(statistics.median(c for c, _, _ in rounds), 3),
                "sockets_per_second": round(args.sockets / statistics.median(w for _, w, _ in rounds), 1),
                "rounds_cpu_ms": [round(c, 3) for c, _, _ in rounds],
                # The close that precedes every reconnect: disconnect handlers, groups left, rows deleted.
                "close_cpu_ms_per_socket": round(statistics.median(d for _, _, d in rounds), 3),
                "rounds_close_cpu_ms": [round(d, 3) for _, _, d in rounds],
            }
            for kind, rounds in figures.items()
        }

    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(asyncio.run, measure())
        profiler.dump_stats(args.profile)
    else:
        result = asyncio.run(measure())
    if args.garbage:
        result["cyclic_garbage_per_socket"] = cyclic_garbage(batch, args.sockets)
    Conversation.objects.filter(brand=brand).update(status="ended")
    print(json.dumps({"sockets_per_round": args.sockets, "rounds": args.rounds, **result}, indent=2))


def cyclic_garbage(batch, sockets: int) -> dict:
    """Objects that only the cycle collector frees, left by opening and closing sockets, by type.

    A full collection walks every object the process holds; what closed sockets
    leave in cycles is what makes those collections come (docs/performance.md).
    The test communicator's own objects are among them.
    """
    import collections
    import gc

    async def both():
        await batch("expert")
        await batch("visitor")

    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        asyncio.run(both())
        gc.collect()
        counts = collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    per_socket = {name: round(n / (2 * sockets), 1) for name, n in counts.most_common(25)}
    return {"total": round(sum(counts.values()) / (2 * sockets), 1), "by_type": per_socket}


if __name__ == "__main__":
    main()
