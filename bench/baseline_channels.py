"""The framework's own cost: a minimal Channels relay under daphne, on channels-redis.

The same frames as bench/baseline_ws.py, but every relayed frame goes through
the channel layer (one ``group_send`` to the conversation's group, as the
project does), with the same layer settings as the project. No database. Like
the project's base consumer it skips Channels' per-event close_old_connections
thread hop, so the difference to the project is the project's own work.

    DJANGO_SETTINGS_MODULE=bench.baseline_channels daphne -p PORT bench.baseline_channels:application
"""

import collections
import itertools
import os
import uuid

SECRET_KEY = "benchmark-baseline-not-secret"  # noqa: S105 - no sessions, nothing signed
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["channels"]
DATABASES = {}
USE_TZ = True
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": os.environ.get("CHANNEL_BACKEND", "channels_redis.core.RedisChannelLayer"),
        "CONFIG": {
            "hosts": [{"address": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1"), "max_connections": 10000, "socket_timeout": 30, "socket_keepalive": True}],
            "capacity": 1000,
            "expiry": 60,
            "group_expiry": 86400,
            "prefix": os.environ.get("CHANNEL_PREFIX", "benchbase"),
        },
    }
}
if CHANNEL_LAYERS["default"]["BACKEND"].endswith("PubSubChannelLayer"):
    CHANNEL_LAYERS["default"]["CONFIG"] = {"hosts": CHANNEL_LAYERS["default"]["CONFIG"]["hosts"], "prefix": CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]}

if os.environ.get("DJANGO_SETTINGS_MODULE") == __name__:
    import django

    django.setup()

    import orjson
    from channels.consumer import get_handler_name
    from channels.generic.websocket import AsyncWebsocketConsumer
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.urls import path

    seqs: dict[str, int] = {}
    tokens = itertools.count(1)
    # What a reconnecting socket rejoins (the storm): a visitor's conversations by its token, an
    # expert's by its cookie. Nothing is stored: what was sent while a side was away is lost.
    rooms: dict[str, list[str]] = collections.defaultdict(list)

    class Relay(AsyncWebsocketConsumer):
        async def dispatch(self, message):
            await getattr(self, get_handler_name(message))(message)

        async def connect(self):
            self.role = self.scope["url_route"]["kwargs"]["role"]
            self.own = None
            self.room = "e:" + dict(self.scope["headers"]).get(b"cookie", b"").decode()
            await self.accept()
            if self.role == "expert":
                for conv_id in rooms[self.room]:
                    await self.channel_layer.group_add(f"c.{conv_id}", self.channel_name)
                await self.send_frame({"type": "welcome", "expert": {"id": "1"}, "status": "away", "queue": [], "conversations": []})

        async def send_frame(self, frame):
            await self.send(text_data=orjson.dumps(frame).decode())

        async def receive(self, text_data=None, bytes_data=None):
            frame = orjson.loads(text_data)
            kind = frame.get("type")
            if kind == "hello":
                token = frame.get("token") if "v:" + str(frame.get("token")) in rooms else str(next(tokens))
                self.room = "v:" + token
                conversation = None
                for conv_id in rooms[self.room]:
                    self.own = conv_id
                    await self.channel_layer.group_add(f"c.{conv_id}", self.channel_name)
                    conversation = {"id": conv_id, "status": "active", "last_seq": seqs[conv_id]}
                await self.send_frame({"type": "welcome", "token": token, "conversation": conversation, "messages": []})
            elif kind == "conversation.start":
                self.own = str(uuid.uuid4())
                seqs[self.own] = 1
                rooms[self.room].append(self.own)
                await self.channel_layer.group_add(f"c.{self.own}", self.channel_name)
                await self.send_frame({"type": "conversation", "id": self.own, "status": "waiting", "last_seq": 1})
                await self.send_frame({"type": "message", "message": {"conversation": self.own, "seq": 1, "author": "visitor", "text": frame["text"], "client_id": frame["client_id"]}})
                await self.channel_layer.group_send("queue", {"type": "relay.frame", "frame": {
                    "type": "queue.added", "conversation": {"id": self.own, "status": "waiting", "last_seq": 1}, "preview": frame["text"]}})
            elif kind == "conversation.claim":
                conv_id = frame["conversation"]
                rooms[self.room].append(conv_id)
                await self.channel_layer.group_add(f"c.{conv_id}", self.channel_name)
                await self.channel_layer.group_send(f"c.{conv_id}", {"type": "relay.frame", "frame": {"type": "conversation", "id": conv_id, "status": "active", "last_seq": seqs[conv_id]}})
                await self.channel_layer.group_send("queue", {"type": "relay.frame", "frame": {"type": "queue.removed", "conversation": conv_id}})
            elif kind == "presence.set":
                # An online dashboard hears the queue (one group, as the project's brand queue group).
                if frame["status"] == "online":
                    await self.channel_layer.group_add("queue", self.channel_name)
                else:
                    await self.channel_layer.group_discard("queue", self.channel_name)
                await self.send_frame({"type": "presence", "status": frame["status"]})
            elif kind == "message.send":
                conv_id = frame.get("conversation", self.own)
                seqs[conv_id] += 1
                message = {"conversation": conv_id, "seq": seqs[conv_id], "author": self.role, "text": frame["text"], "client_id": frame["client_id"]}
                await self.channel_layer.group_send(f"c.{conv_id}", {"type": "relay.frame", "frame": {"type": "message", "message": message}})
            elif kind == "typing":
                conv_id = frame.get("conversation", self.own)
                await self.channel_layer.group_send(f"c.{conv_id}", {"type": "relay.typing", "frame": {"type": "typing", "conversation": conv_id, "author": self.role, "active": frame["active"]}})

        async def disconnect(self, code):
            await self.channel_layer.group_discard("queue", self.channel_name)

        async def relay_frame(self, event):
            await self.send_frame(event["frame"])

        async def relay_typing(self, event):
            if event["frame"]["author"] != self.role:
                await self.send_frame(event["frame"])

    application = ProtocolTypeRouter({"websocket": URLRouter([path("ws/v1/<str:role>/", Relay.as_asgi()), path("ws/v1/<str:role>/<str:brand>/", Relay.as_asgi())])})
