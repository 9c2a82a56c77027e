"""The floor: a bare ``websockets`` relay speaking just enough of protocol v1.

No Django, no channel layer, no database: hello → welcome, conversation.start
→ conversation + message (and queue.added to every online dashboard), claim →
conversation to both sides (and queue.removed to every online dashboard),
presence.set → presence, message.send →
message (with the next seq) to both sides, typing → the other side. What the
benchmark measures here is the cost of Python, asyncio, websockets framing
and the load generator itself; the project can only be slower.

    python -m bench.baseline_ws PORT
"""

import asyncio
import collections
import itertools
import sys
import uuid

import orjson
from websockets.asyncio.server import serve

conversations: dict[str, dict] = {}  # id -> {"members": set of (role, socket), "seq": int}
tokens = itertools.count(1)
# What a reconnecting socket rejoins (the storm): a visitor's conversations by its token, an
# expert's by its cookie. Nothing is stored: what was sent while a side was away is lost.
rooms: dict[str, list[str]] = collections.defaultdict(list)
# The online experts' dashboards: every new question is offered to each, and withdrawn when claimed.
queue: set = set()


async def send(ws, frame):
    try:
        await ws.send(orjson.dumps(frame).decode())
    except Exception:
        pass


async def relay(ws, conv_id, frame):
    for _, member in list(conversations[conv_id]["members"]):
        await send(member, frame)


async def handler(ws):
    role = "expert" if "/expert/" in ws.request.path else "visitor"
    own: str | None = None
    room = "e:" + (ws.request.headers.get("cookie") or "")
    joined: list[str] = []

    def join(conv_id):
        conversations[conv_id]["members"].add((role, ws))
        joined.append(conv_id)

    if role == "expert":
        for conv_id in rooms[room]:
            join(conv_id)
        await send(ws, {"type": "welcome", "expert": {"id": "1", "display_name": "E"}, "status": "away", "queue": [], "conversations": []})
    try:
        async for raw in ws:
            frame = orjson.loads(raw)
            kind = frame.get("type")
            if kind == "hello":
                token = frame.get("token") if "v:" + str(frame.get("token")) in rooms else str(next(tokens))
                room = "v:" + token
                conversation = None
                for conv_id in rooms[room]:
                    own = conv_id
                    join(conv_id)
                    conversation = {"id": conv_id, "status": "active", "last_seq": conversations[conv_id]["seq"]}
                await send(ws, {"type": "welcome", "token": token, "conversation": conversation, "messages": []})
            elif kind == "conversation.start":
                own = str(uuid.uuid4())
                conversations[own] = {"members": set(), "seq": 1}
                join(own)
                rooms[room].append(own)
                await send(ws, {"type": "conversation", "id": own, "status": "waiting", "last_seq": 1})
                await send(ws, {"type": "message", "message": {"conversation": own, "seq": 1, "author": role, "text": frame["text"], "client_id": frame["client_id"]}})
                offer = {"type": "queue.added", "conversation": {"id": own, "status": "waiting", "last_seq": 1}, "preview": frame["text"]}
                for member in list(queue):
                    await send(member, offer)
            elif kind == "conversation.claim":
                conv_id = frame["conversation"]
                join(conv_id)
                rooms[room].append(conv_id)
                await relay(ws, conv_id, {"type": "conversation", "id": conv_id, "status": "active", "last_seq": conversations[conv_id]["seq"]})
                for member in list(queue):
                    await send(member, {"type": "queue.removed", "conversation": conv_id})
            elif kind == "presence.set":
                (queue.add if frame["status"] == "online" else queue.discard)(ws)
                await send(ws, {"type": "presence", "status": frame["status"]})
            elif kind == "message.send":
                conv_id = frame.get("conversation", own)
                conversation = conversations[conv_id]
                conversation["seq"] += 1
                message = {"conversation": conv_id, "seq": conversation["seq"], "author": role, "text": frame["text"], "client_id": frame["client_id"]}
                await relay(ws, conv_id, {"type": "message", "message": message})
            elif kind == "typing":
                conv_id = frame.get("conversation", own)
                for member_role, member in list(conversations[conv_id]["members"]):
                    if member_role != role:
                        await send(member, {"type": "typing", "conversation": conv_id, "author": role, "active": frame["active"]})
    finally:
        queue.discard(ws)
        for conv_id in joined:
            conversations[conv_id]["members"].discard((role, ws))


async def main(port: int):
    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None, max_queue=None, backlog=4096):
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
