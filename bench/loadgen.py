"""The load generator: real websocket clients speaking protocol v1, open loop.

Run by bench/run.py in its own process (pinned to its own core where it can
be), with a plan as JSON on stdin. It prints ``MARK <name>`` lines while it
works, so the orchestrator can sample the server's CPU, memory and database
counters at the same moments, and one ``RESULT <json>`` line at the end.

Open loop: every sender has a schedule (a random phase, then one send every
``interval``); latency is measured from the *scheduled* time, so a stalled
server or client cannot hide its stall by sending later (no coordinated
omission). One-way latency is scheduled send → the *other* side's socket
receives the ``message`` frame, on one clock (one process).
"""

from __future__ import annotations

import asyncio
import collections
import gc
import itertools
import json
import os
import random
import sys
import time

import orjson
from hdrh.histogram import HdrHistogram
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

LOWEST_US, HIGHEST_US = 1, 120_000_000


def histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, 3)


def summary(hist: HdrHistogram) -> dict:
    if hist.get_total_count() == 0:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "count": hist.get_total_count(),
        "p50_ms": hist.get_value_at_percentile(50) / 1000,
        "p90_ms": hist.get_value_at_percentile(90) / 1000,
        "p99_ms": hist.get_value_at_percentile(99) / 1000,
        "p999_ms": hist.get_value_at_percentile(99.9) / 1000,
        "max_ms": hist.get_max_value() / 1000,
    }


def percentile_curve(hist: HdrHistogram) -> list[list[float]]:
    points = [50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100]
    return [[p, hist.get_value_at_percentile(p) / 1000] for p in points] if hist.get_total_count() else []


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """static/chat/common.js's backoffDelay, in seconds: between half and all of the step."""
    step = min(cap, base * 2**attempt)
    return step / 2 + random.random() * step / 2


def per_second(times: list[float]) -> list[int]:
    """How many of ``times`` (seconds) fall in each whole second from 0 to the last."""
    counts = [0] * (int(max(times)) + 1 if times else 0)
    for t in times:
        counts[int(t)] += 1
    return counts


def mark(name: str) -> None:
    print(f"MARK {name}", flush=True)


class Stats:
    """What one phase saw."""

    def __init__(self, name: str):
        self.name = name
        self.latency = histogram()
        self.typing_latency = histogram()
        self.sent = 0
        self.delivered = 0
        self.duplicates = 0
        self.typing_sent = 0
        self.typing_delivered = 0
        self.send_failures = 0
        self.acked: set[str] = set()  # the author's socket got its own message back: the server stored it
        self.delivered_ids: set[str] = set()
        self.started = time.monotonic()
        self.ended = None

    def result(self) -> dict:
        return {
            "sent": self.sent,
            "delivered": self.delivered,
            "lost": self.sent - self.delivered,
            "duplicates": self.duplicates,
            "send_failures": self.send_failures,
            # What the server acknowledged and the other side never got: the loss that counts.
            # "lost" also holds what was still unacknowledged (in flight) when the phase ended.
            "acknowledged": len(self.acked),
            "acknowledged_not_delivered": len(self.acked - self.delivered_ids),
            "seconds": round((self.ended or time.monotonic()) - self.started, 3),
            "latency": summary(self.latency),
            "latency_curve": percentile_curve(self.latency),
            "typing": {
                "sent": self.typing_sent,
                "delivered": self.typing_delivered,
                "latency": summary(self.typing_latency),
            } if self.typing_sent else None,
        }


class Handshakes:
    def __init__(self):
        self.hist = histogram()
        self.failures = 0
        self.status_5xx = 0
        self.errors: collections.Counter = collections.Counter()

    def result(self) -> dict:
        return {**summary(self.hist), "failures": self.failures, "http_5xx": self.status_5xx, "errors": dict(self.errors.most_common(5))}


class Peer:
    """One client socket: a visitor widget or an expert dashboard."""

    def __init__(self, gen: "LoadGen", role: str, url: str, headers: dict):
        self.gen, self.role, self.url, self.headers = gen, role, url, headers
        self.ws = None
        self.token = None
        self.last_seq: dict[str, int] = collections.defaultdict(int)
        # (conversation, seq) -> how it first came: "live", or "sync"/"welcome" (an answer read from the
        # database, which may overlap what arrives live: a client skips by seq what it already has).
        self.have: dict[tuple[str, int], str] = {}
        self.unacked: dict[str, dict] = {}
        self.waiters: dict[str, list[asyncio.Future]] = collections.defaultdict(list)
        self.ready = asyncio.Event()
        self.reader = None

    async def open(self, handshakes: Handshakes, resume: bool = False) -> bool:
        start = time.monotonic()
        try:
            self.ws = await connect(
                self.url, additional_headers=self.headers, compression=None, proxy=None,
                open_timeout=60, ping_interval=None, max_size=2**22, max_queue=None,
            )
            self.reader = asyncio.create_task(self.read())
            welcome = self.expect("welcome")
            if self.role == "visitor":
                conv = next(iter(self.last_seq), None)
                await self.ws.send(orjson.dumps({
                    "type": "hello", "token": self.token if resume else None,
                    "last_seq": self.last_seq[conv] if (resume and conv) else 0,
                }).decode())
            frame = await asyncio.wait_for(welcome, 60)
        except Exception as exc:  # a failed handshake is a figure, not a crash
            handshakes.failures += 1
            if isinstance(exc, InvalidStatus) and exc.response.status_code >= 500:
                handshakes.status_5xx += 1
            handshakes.errors[f"{self.role} " + type(exc).__name__ + (f" {exc.response.status_code}" if isinstance(exc, InvalidStatus) else "")] += 1
            return False
        handshakes.hist.record_value(max(LOWEST_US, int((time.monotonic() - start) * 1e6)))
        if self.role == "visitor":
            self.token = frame.get("token")
            for message in frame.get("messages") or []:
                self.take(message, "welcome")
        else:
            for conversation in frame.get("conversations") or []:
                if conversation["id"] in self.last_seq and conversation["last_seq"] > self.last_seq[conversation["id"]]:
                    await self.send({"type": "sync", "conversation": conversation["id"], "after_seq": self.last_seq[conversation["id"]]})
        for frame in list(self.unacked.values()):  # a client resends what was never acknowledged
            await self.send(frame)
        self.ready.set()
        return True

    async def drop(self) -> None:
        self.ready.clear()
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()

    def expect(self, frame_type: str) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiters[frame_type].append(future)
        return future

    async def send(self, frame: dict) -> None:
        await self.ws.send(orjson.dumps(frame).decode())

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                frame = orjson.loads(raw)
                kind = frame.get("type")
                if kind == "message":
                    self.take(frame["message"] if "message" in frame else frame, "live")
                elif kind == "messages":
                    for message in frame["messages"]:
                        self.take(message, "sync")
                elif kind == "typing":
                    self.gen.on_typing(self, frame)
                elif kind in ("queue.added", "queue.removed") and self.gen.burst is not None:
                    self.gen.burst.on_queue(self, kind, frame)
                elif kind == "conversation" and self.gen.burst is not None:
                    self.gen.burst.on_conversation(self, frame)
                waiting = self.waiters.get(kind)
                if waiting:
                    future = waiting.pop(0)
                    if not future.done():
                        future.set_result(frame)
        except Exception:
            pass
        finally:  # closed: nobody waits for a frame that cannot come (the client retries instead)
            for waiting in self.waiters.values():
                for future in waiting:
                    if not future.done():
                        future.set_exception(ConnectionError("closed before the answer"))
            self.waiters.clear()

    def take(self, message: dict, how: str) -> None:
        """Count a message once, however it came.

        A sync answer (or a welcome's messages) may hold what already arrived live, and
        what is still to arrive live: a client skips by (conversation, seq) what it has.
        Not by "seq at most the highest seen": a live message that overtook the sync
        answer would hide the older ones the answer brings. A live ``message`` frame
        seen twice still counts, as a duplicate (it breaks the no-repeat promise).
        """
        key = (message["conversation"], message["seq"])
        first = self.have.get(key)
        if first is None:
            self.have[key] = how
        elif how != "live" or first != "live":
            return
        self.on_message(message)

    def on_message(self, message: dict) -> None:
        conv = message["conversation"]
        if message["seq"] > self.last_seq[conv]:
            self.last_seq[conv] = message["seq"]
        cid = message.get("client_id")
        if message["author"] == self.role:
            self.unacked.pop(cid, None)
            self.gen.on_acked(cid)
        elif cid is not None:
            self.gen.on_delivered(cid)


class Burst:
    """What the question burst saw: each question's offers on every online dashboard, its claim."""

    def __init__(self, experts: list[Peer]):
        self.experts = experts
        self.offer_latency = histogram()
        self.claim_latency = histogram()
        self.asked = 0
        self.failed = 0
        self.claim_failures = 0
        self.questions: dict[str, dict] = {}
        # Frames that came before the visitor's own answer told us the question's id.
        self.early: dict[str, list] = collections.defaultdict(list)
        self.last_frame_at = 0.0

    def expect(self, conv_id: str, scheduled: float, claimer: Peer) -> None:
        self.questions[conv_id] = {"scheduled": scheduled, "claimer": claimer, "offered": set(), "removed": set(),
                                   "claimed": False, "claim_sent": None}
        for peer, kind, frame, at in self.early.pop(conv_id, []):
            self._take(peer, kind, frame, at)

    def on_queue(self, peer: Peer, kind: str, frame: dict) -> None:
        conv_id = frame["conversation"]["id"] if kind == "queue.added" else frame["conversation"]
        at = time.monotonic()
        self.last_frame_at = at
        if conv_id not in self.questions:
            self.early[conv_id].append((peer, kind, frame, at))
            return
        self._take(peer, kind, frame, at)

    def _take(self, peer: Peer, kind: str, frame: dict, at: float) -> None:
        q = self.questions[frame["conversation"]["id"] if kind == "queue.added" else frame["conversation"]]
        if kind == "queue.removed":
            q["removed"].add(id(peer))
            return
        if id(peer) in q["offered"]:
            return
        q["offered"].add(id(peer))
        self.offer_latency.record_value(max(LOWEST_US, min(HIGHEST_US, int((at - q["scheduled"]) * 1e6))))
        if peer is q["claimer"] and q["claim_sent"] is None:
            q["claim_sent"] = at
            asyncio.ensure_future(self._claim(peer, frame["conversation"]["id"], q))

    async def _claim(self, peer: Peer, conv_id: str, q: dict) -> None:
        try:
            await peer.send({"type": "conversation.claim", "conversation": conv_id})
        except Exception:
            self.claim_failures += 1

    def on_conversation(self, peer: Peer, frame: dict) -> None:
        q = self.questions.get(frame.get("id"))
        if q is None or peer is not q["claimer"] or q["claimed"] or q["claim_sent"] is None:
            return
        if frame.get("status") == "active":
            q["claimed"] = True
            self.claim_latency.record_value(max(LOWEST_US, int((time.monotonic() - q["claim_sent"]) * 1e6)))

    def settled(self) -> bool:
        n = len(self.experts)
        return all(q["claimed"] and len(q["offered"]) == n and len(q["removed"]) == n for q in self.questions.values())

    def result(self, count: int, rate: float, last: float, settled_at: float | None, idle_after: float | None) -> dict:
        n = len(self.experts)
        offers = sum(len(q["offered"]) for q in self.questions.values())
        return {
            "questions": count, "offered_rate": rate, "asked": self.asked, "failed": self.failed,
            "answered": len(self.questions), "online_dashboards": n,
            "offers_expected": len(self.questions) * n, "offers_seen": offers,
            "offer_latency": summary(self.offer_latency),
            "claimed": sum(1 for q in self.questions.values() if q["claimed"]), "claim_failures": self.claim_failures,
            "claim_latency": summary(self.claim_latency),
            "removed_seen": sum(len(q["removed"]) for q in self.questions.values()),
            # Every offer, claim and removal seen on every dashboard, counted from the last question's scheduled time.
            "settled_after_last_seconds": round(settled_at - last, 3) if settled_at else None,
            # The server's CPU under a tenth of a core over a second, from the last question's scheduled time.
            "server_idle_after_last_seconds": idle_after,
            # Fields the report and ratios read from every phase.
            "sent": len(self.questions) * n, "delivered": offers, "lost": len(self.questions) * n - offers, "duplicates": 0,
            "latency": summary(self.offer_latency), "delivered_per_second": round(offers / (count / rate), 1) if rate else 0,
        }


class LoadGen:
    def __init__(self, plan: dict):
        self.plan = plan
        self.stats: Stats | None = None
        self.scheduled: dict[str, tuple[float, Stats]] = {}
        self.seen: set[str] = set()
        self.typing_fifo: dict[tuple, collections.deque] = collections.defaultdict(collections.deque)
        self.ids = itertools.count()
        self.results: dict = {"phases": {}}
        self.burst: "Burst | None" = None

    # --- receiving -------------------------------------------------------------
    def on_delivered(self, cid: str) -> None:
        entry = self.scheduled.get(cid)
        if entry is None:
            return
        scheduled, stats = entry
        if cid in self.seen:
            stats.duplicates += 1
            return
        self.seen.add(cid)
        stats.delivered_ids.add(cid)
        stats.delivered += 1
        stats.latency.record_value(max(LOWEST_US, min(HIGHEST_US, int((time.monotonic() - scheduled) * 1e6))))

    def on_acked(self, cid: str) -> None:
        entry = self.scheduled.get(cid)
        if entry is not None:
            entry[1].acked.add(cid)

    def on_typing(self, peer: Peer, frame: dict) -> None:
        fifo = self.typing_fifo.get((frame["conversation"], frame["author"]))
        if fifo:
            scheduled, stats = fifo.popleft()
            stats.typing_delivered += 1
            stats.typing_latency.record_value(max(LOWEST_US, min(HIGHEST_US, int((time.monotonic() - scheduled) * 1e6))))

    # --- setting up ---------------------------------------------------------------
    def visitor(self, base: str) -> Peer:
        # A brand's page (bench.seed lists it among the brand's origins).
        return Peer(self, "visitor", f"{base}/ws/v1/visitor/{self.plan['brand']}/", {"Origin": self.plan["visitor_origin"]})

    def expert(self, base: str, cookie: str) -> Peer:
        # The dashboard is a page of the server the socket is opened on: its own origin, port included.
        return Peer(self, "expert", f"{base}/ws/v1/expert/", {"Origin": base.replace("ws://", "http://", 1), "Cookie": cookie})

    async def gather_bounded(self, coros, limit: int = 500):
        semaphore = asyncio.Semaphore(limit)

        async def run(coro):
            async with semaphore:
                return await coro

        return await asyncio.gather(*(run(c) for c in coros))

    async def open_pairs(self, count: int, cookies: list[str], *, visitor_base: str, expert_base: str, shared_expert: bool = False):
        """Open experts and visitors, start a conversation per visitor, have its expert claim it."""
        handshakes = Handshakes()
        # A list of bases (several server processes, no sticky routing): pair i's visitor on bases[i % k] and
        # its expert on bases[(i // k) % k], so 1/k of the pairs share a process and the rest cross the layer.
        def pick(base, i, of_expert):
            if isinstance(base, str):
                return base
            k = len(base)
            return base[(i // k) % k] if of_expert else base[i % k]

        experts = [self.expert(pick(expert_base, i, True), cookies[0 if shared_expert else i]) for i in range(1 if shared_expert else count)]
        visitors = [self.visitor(pick(visitor_base, i, False)) for i in range(count)]
        await self.gather_bounded([p.open(handshakes) for p in experts])
        await self.gather_bounded([p.open(handshakes) for p in visitors])
        pairs = []

        async def start_and_claim(i, visitor):
            try:
                return await start_and_claim_once(i, visitor)
            except Exception:
                return None  # counted: fewer pairs than asked for

        async def start_and_claim_once(i, visitor):
            expert = experts[0 if shared_expert else i]
            if not (visitor.ready.is_set() and expert.ready.is_set()):
                return None
            conversation = visitor.expect("conversation")
            await visitor.send({"type": "conversation.start", "text": "hello?", "client_id": f"start-{next(self.ids)}"})
            conv_id = (await asyncio.wait_for(conversation, 60))["id"]
            claimed = expert.expect("conversation")
            await expert.send({"type": "conversation.claim", "conversation": conv_id})
            frame = await asyncio.wait_for(claimed, 60)
            if frame.get("status") != "active":
                return None
            expert.last_seq[frame["id"]] = max(expert.last_seq[frame["id"]], frame.get("last_seq", 0))
            visitor.last_seq[conv_id] = max(visitor.last_seq[conv_id], 1)
            return (visitor, expert, conv_id)

        started = await self.gather_bounded([start_and_claim(i, v) for i, v in enumerate(visitors)], limit=100)
        pairs = [p for p in started if p]
        await asyncio.sleep(0.5)  # the last conversation/message frames
        return pairs, experts, visitors, handshakes

    # --- load -------------------------------------------------------------------------
    async def wait_ready(self, peer: Peer, until: float) -> bool:
        if peer.ready.is_set():
            return True
        try:
            await asyncio.wait_for(peer.ready.wait(), max(0.01, until - time.monotonic()))
            return True
        except asyncio.TimeoutError:
            return False

    async def sender(self, peer: Peer, conv_id: str, interval: float, start: float, end: float, stats: Stats, typing_burst: int = 0,
                     grace: float = 10):
        """One side's schedule; a message due while its socket is away waits for it (up to ``grace`` s past the end)."""
        t = start + random.uniform(0, interval)
        while t < end:
            delay = t - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if typing_burst:
                for k in range(typing_burst):
                    target = t + k * 0.05
                    delay = target - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if not await self.wait_ready(peer, end + grace):
                        return
                    frame = {"type": "typing", "active": k < typing_burst - 1}
                    if peer.role == "expert":
                        frame["conversation"] = conv_id
                    self.typing_fifo[(conv_id, peer.role)].append((target, stats))
                    stats.typing_sent += 1
                    try:
                        await peer.send(frame)
                    except Exception:
                        stats.send_failures += 1
                # The message follows the burst: its latency counts from its own scheduled time.
                scheduled = t + typing_burst * 0.05
                delay = scheduled - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            else:
                scheduled = t
            cid = f"m{next(self.ids)}"
            frame = {"type": "message.send", "text": f"benchmark message {cid}", "client_id": cid}
            if peer.role == "expert":
                frame["conversation"] = conv_id
            self.scheduled[cid] = (scheduled, stats)
            stats.sent += 1
            peer.unacked[cid] = frame
            if not await self.wait_ready(peer, end + grace):
                stats.send_failures += 1  # the socket never came back: counted as sent and lost
                return
            try:
                await peer.send(frame)
            except Exception:
                pass  # still unacked: resent on reconnect (idempotent client_id)
            t += interval

    async def run_load(self, name: str, pairs, rate: float, seconds: float, drain: float, typing_burst: int = 0,
                       during=None, grace: float = 10) -> dict:
        """Every side of every pair sends; ``rate`` is messages per second in total."""
        stats = Stats(name)
        self.stats = stats
        senders = [(v, conv) for v, _, conv in pairs] + [(e, conv) for _, e, conv in pairs]
        interval = len(senders) / rate
        mark(f"start {name}")
        start = time.monotonic() + 0.05
        end = start + seconds
        tasks = [asyncio.create_task(self.sender(p, conv, interval, start, end, stats, typing_burst, grace)) for p, conv in senders]
        extra = {}
        if during is not None:
            extra = await during(start, end)
        await asyncio.gather(*tasks)
        deadline = time.monotonic() + drain
        while time.monotonic() < deadline and stats.delivered < stats.sent:
            await asyncio.sleep(0.05)
        stats.ended = time.monotonic()
        mark(f"end {name}")
        # What the phase made that lives on (a storm's 4,000 new client sockets) is frozen too,
        # between phases, so the next phase is not measured through this process's pauses.
        gc.collect()
        gc.freeze()
        result = {**stats.result(), "offered_rate": rate, "sockets": len({id(p) for p, _ in senders}), "conversations": len(pairs),
                  "delivered_per_second": round(stats.delivered / seconds, 1), **extra}
        self.results["phases"][name] = result
        return result

    async def storm(self, peers: list[Peer], start: float, end: float) -> dict:
        """Every socket drops at once, then all reconnect at once and resume.

        A failed attempt is retried as the shipped clients retry
        (``static/chat/common.js``: exponential backoff from 0.5 s with jitter,
        the first retry 0.25 to 0.5 s after the failure), until
        ``storm_give_up`` seconds after the drop. The first attempts are not
        spread at all: every socket reconnects in the same instant.
        """
        await asyncio.sleep(max(0, (end - start) / 3 - (time.monotonic() - start)))
        handshakes = Handshakes()
        give_up = self.plan.get("storm_give_up", 60)
        mark("storm drop")
        await asyncio.gather(*(p.drop() for p in peers), return_exceptions=True)
        t0 = time.monotonic()
        back_at: list[float] = []
        attempts = collections.Counter()

        async def come_back(peer: Peer) -> bool:
            for attempt in itertools.count():
                attempts[attempt] += 1
                if await peer.open(handshakes, resume=True):
                    back_at.append(time.monotonic() - t0)
                    return True
                await peer.drop()
                delay = backoff_delay(attempt)
                if time.monotonic() + delay - t0 > give_up:
                    return False
                await asyncio.sleep(delay)

        ok = await asyncio.gather(*(come_back(p) for p in peers))
        back_at.sort()
        return {"storm": {"sockets": len(peers), "reconnected": sum(ok),
                          "all_back_seconds": round(back_at[-1], 3) if all(ok) and back_at else None,
                          "back_within_10_s": sum(1 for t in back_at if t <= 10),
                          "p50_back_seconds": round(back_at[len(back_at) // 2], 3) if back_at else None,
                          # How many came back in each second after the drop: a slow start, a steady
                          # rate, or everyone at the end (the server sharing its core among them all).
                          "back_per_second": per_second(back_at),
                          "attempts": {str(k): v for k, v in sorted(attempts.items())},
                          "handshake": handshakes.result()}}

    async def community(self, base: str, other: str) -> None:
        """``experts-online`` and ``question-burst``: E experts online for the brand, C conversations each.

        Setup: the E experts connect away (they claim by id, nothing is offered to
        anyone yet), E x C visitors start a conversation each and expert ``i // C``
        claims it, then every expert sets itself online: its dashboard joins the
        brand's live queue. ``experts-online`` is steady chat on those pairs (one
        message per side every 10 s, random phase). ``question-burst`` then opens
        Q new questions per second from new visitors, each offered to all E online
        dashboards and claimed by one of them (round robin, on its offer).
        """
        plan = self.plan
        scenarios = plan["scenarios"]
        e, c = plan["community_experts"], plan["community_conversations"]
        cookies = plan["community_cookies"][:e]
        handshakes = Handshakes()
        experts = [self.expert(other, cookie) for cookie in cookies]
        await self.gather_bounded([p.open(handshakes) for p in experts])
        visitors = [self.visitor(base) for _ in range(e * c)]
        await self.gather_bounded([p.open(handshakes) for p in visitors])

        async def start_and_claim(expert, visitor):
            conversation = visitor.expect("conversation")
            await visitor.send({"type": "conversation.start", "text": "hello?", "client_id": f"start-{next(self.ids)}"})
            conv_id = (await asyncio.wait_for(conversation, 60))["id"]
            claimed = expert.expect("conversation")
            await expert.send({"type": "conversation.claim", "conversation": conv_id})
            frame = await asyncio.wait_for(claimed, 60)
            if frame.get("status") != "active" or frame.get("id") != conv_id:
                return None
            expert.last_seq[conv_id] = max(expert.last_seq[conv_id], frame.get("last_seq", 0))
            visitor.last_seq[conv_id] = max(visitor.last_seq[conv_id], 1)
            return (visitor, expert, conv_id)

        async def set_up(k):
            """Expert k's C conversations, one after another (its claims' answers come in order)."""
            expert, done = experts[k], []
            for visitor in visitors[k * c:(k + 1) * c]:
                if not (visitor.ready.is_set() and expert.ready.is_set()):
                    continue
                try:
                    pair = await start_and_claim(expert, visitor)
                except Exception:
                    pair = None
                if pair:
                    done.append(pair)
            return done

        pairs = [pair for done in await self.gather_bounded([set_up(k) for k in range(e)], limit=100) for pair in done]

        async def go_online(expert):
            if not expert.ready.is_set():
                return False
            answer = expert.expect("presence")
            await expert.send({"type": "presence.set", "status": "online"})
            try:
                return (await asyncio.wait_for(answer, 60)).get("status") == "online"
            except Exception:
                return False

        online = sum(await self.gather_bounded([go_online(p) for p in experts]))
        await asyncio.sleep(0.5)
        self.results["community_setup"] = {"experts": len(experts), "online": online, "pairs": len(pairs),
                                           "sockets": len(experts) + len(visitors), "handshake": handshakes.result()}
        mark("community setup done")
        gc.collect()
        gc.freeze()
        await asyncio.sleep(2)
        if "experts-online" in scenarios:
            await self.run_load("experts-online", pairs, rate=2 * len(pairs) / plan["steady_interval"],
                                seconds=plan["steady_seconds"], drain=plan["drain"])
        if "question-burst" in scenarios:
            await self.question_burst(base, experts)
        await self.close_all(experts + visitors)

    async def question_burst(self, base: str, experts: list[Peer]) -> None:
        plan = self.plan
        count, rate = plan["burst_questions"], plan["burst_rate"]
        handshakes = Handshakes()
        visitors = [self.visitor(base) for _ in range(count)]
        await self.gather_bounded([p.open(handshakes) for p in visitors])
        online = [p for p in experts if p.ready.is_set()]
        burst = self.burst = Burst(online)
        mark("start question-burst")
        t0 = time.monotonic() + 1.0  # the burst's own tasks made and settled first

        async def ask(i, visitor):
            scheduled = t0 + i / rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if not visitor.ready.is_set():
                burst.failed += 1
                return
            answer = visitor.expect("conversation")
            burst.asked += 1
            try:
                await visitor.send({"type": "conversation.start", "text": f"question {i}", "client_id": f"q-{next(self.ids)}"})
                conv_id = (await asyncio.wait_for(answer, 60))["id"]
            except Exception:
                burst.failed += 1
                return
            burst.expect(conv_id, scheduled, online[i % len(online)])

        await asyncio.gather(*(ask(i, v) for i, v in enumerate(visitors)))
        last = t0 + (count - 1) / rate
        deadline = time.monotonic() + plan["burst_drain"]
        while time.monotonic() < deadline and not burst.settled():
            await asyncio.sleep(0.05)
        settled_at = time.monotonic() if burst.settled() else None
        idle_after = await self.server_idle_after(last)
        mark("end question-burst")
        gc.collect()
        gc.freeze()
        self.results["phases"]["question-burst"] = burst.result(count, rate, last, settled_at, idle_after)
        self.burst = None
        await self.close_all(visitors)

    async def server_idle_after(self, since: float, window: float = 1.0, below: float = 0.1, limit: float = 60.0) -> float | None:
        """Seconds from ``since`` until the server processes used under ``below`` of a core over ``window`` s."""
        pids = self.plan.get("server_pids") or []
        if not pids:
            return None

        def cpu() -> float:
            total = 0
            for pid in pids:
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    total += int(fields[11]) + int(fields[12])
                except (OSError, IndexError, ValueError):
                    pass
            return total / os.sysconf("SC_CLK_TCK")

        samples = collections.deque([(time.monotonic(), cpu())])
        while time.monotonic() - since < limit:
            await asyncio.sleep(0.1)
            now, used = time.monotonic(), cpu()
            samples.append((now, used))
            while len(samples) > 2 and now - samples[1][0] >= window:
                samples.popleft()
            t, u = samples[0]
            if now - t >= window and (used - u) / (now - t) < below:
                return round(max(0.0, t - since), 3)
        return None

    async def close_all(self, peers):
        await asyncio.gather(*(p.drop() for p in peers), return_exceptions=True)

    # --- the plan -----------------------------------------------------------------------
    async def main(self) -> dict:
        plan = self.plan
        base = plan["bases"][0]
        other = plan["bases"][-1]
        cookies = plan["cookies"]
        n = plan["pairs"]
        scenarios = plan["scenarios"]
        res = self.results
        if any(name in scenarios for name in ("steady", "ramp", "storm", "typing", "idle")):
            mark("idle before")
            if plan.get("spread"):
                pairs, experts, visitors, hs = await self.open_pairs(n, cookies, visitor_base=plan["bases"], expert_base=plan["bases"])
            else:
                pairs, experts, visitors, hs = await self.open_pairs(n, cookies, visitor_base=base, expert_base=other)
            res["setup"] = {"pairs": len(pairs), "handshake": hs.result(), "sockets": len(experts) + len(visitors)}
            mark("setup done")
            # The load generator's own full collections walked its 4,000 sockets' objects and
            # stopped it for 160 to 280 ms, several times a run: every message in flight then
            # counted as that much later (most of steady chat's p99 in some runs). What exists
            # now lives to the end: the collector leaves it alone (as the server does, chatplatform/gc_tuning.py).
            gc.collect()
            gc.freeze()
            await asyncio.sleep(2)
            mark("idle after")
            if "idle" in scenarios:
                # Every socket open and silent: what the server spends on sockets that do nothing
                # (the server's pings, its sweeps, the sockets' beats), as cores used (bench/run.py).
                mark("start idle")
                await asyncio.sleep(plan["idle_seconds"])
                mark("end idle")
                res["phases"]["idle"] = {"sent": 0, "delivered": 0, "lost": 0, "duplicates": 0, "delivered_per_second": 0,
                                         "latency": {"p50_ms": None, "p99_ms": None, "max_ms": None}}
            if "steady" in scenarios:
                await self.run_load("steady", pairs, rate=2 * len(pairs) / plan["steady_interval"], seconds=plan["steady_seconds"], drain=plan["drain"])
            # The storm right after steady chat: the ramp ends past the knee and leaves a backlog behind it.
            if "storm" in scenarios:
                peers = experts + visitors

                async def during(start, end):
                    return await self.storm(peers, start, end)

                # A message due while its socket is away is sent once the socket is back (as the widget
                # does): the senders wait as long as the storm's clients keep retrying, so "lost" counts
                # only what the server failed to deliver, not what a client never got to send.
                await self.run_load("storm", pairs, rate=2 * len(pairs) / plan["storm_interval"], seconds=plan["storm_seconds"],
                                    drain=plan["drain"] + 30, during=during, grace=plan.get("storm_give_up", 60))
            if "ramp" in scenarios:
                res["ramp"] = []
                for rate in plan["ramp_rates"]:
                    r = await self.run_load(f"ramp-{rate}", pairs, rate=rate, seconds=plan["ramp_seconds"], drain=plan["drain"])
                    res["ramp"].append({"rate": rate, **{k: r[k] for k in ("sent", "delivered", "lost", "latency", "delivered_per_second")}})
                    if r["lost"] or (r["latency"]["p99_ms"] or 1e9) >= plan["knee_p99_ms"]:
                        break
                passing = [s for s in res["ramp"] if not s["lost"] and s["latency"]["p99_ms"] < plan["knee_p99_ms"]]
                res["knee_rate"] = passing[-1]["rate"] if passing else None
            if "typing" in scenarios:
                await self.run_load("typing", pairs, rate=2 * len(pairs) / plan["typing_interval"], seconds=plan["typing_seconds"],
                                    drain=plan["drain"], typing_burst=plan["typing_burst"])
            await self.close_all(experts + visitors)
        if "experts-online" in scenarios or "question-burst" in scenarios:
            await self.community(base, other)
        if "fanout" in scenarios:
            pairs, experts, visitors, hs = await self.open_pairs(plan["fanout_conversations"], plan["fanout_cookie"], visitor_base=base,
                                                                 expert_base=other, shared_expert=True)
            res["fanout_setup"] = {"conversations": len(pairs), "handshake": hs.result()}
            await self.run_load("fanout", pairs, rate=plan["fanout_rate"], seconds=plan["fanout_seconds"], drain=plan["drain"])
            await self.close_all(experts + visitors)
        return res


def main() -> None:
    gc.set_threshold(50_000, *gc.get_threshold()[1:])  # the server's setting: frames' objects die young
    plan = json.loads(sys.stdin.read())
    random.seed(plan.get("seed", 1))
    result = asyncio.run(asyncio.wait_for(LoadGen(plan).main(), plan.get("time_limit", 900)))
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
