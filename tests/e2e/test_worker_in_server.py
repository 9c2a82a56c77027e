"""`make run`'s shape: one daphne process on the in-memory layer runs the worker itself (CHAT_WORKER_IN_SERVER),
so what a sweep ends reaches the expert's open tab live."""

import asyncio
import json
from datetime import timedelta

import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.utils import timezone

from tests.e2e.servers import daphne_server
from tests.e2e.test_daphne import recv_type
from tests.support import session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def _idle_for_an_hour(conversation_id):
    from visitors.models import Conversation, Message, Visitor

    hour_ago = timezone.now() - timedelta(hours=1)
    Message.objects.filter(conversation_id=conversation_id).update(created_at=hour_ago)
    conversation = Conversation.objects.get(pk=conversation_id)
    Conversation.objects.filter(pk=conversation_id).update(claimed_at=hour_ago)
    Visitor.objects.filter(pk=conversation.visitor_id).update(away_since=hour_ago)


async def test_the_experts_tab_hears_at_once_that_an_abandoned_conversation_ended(brand, alice):
    with daphne_server(CHAT_WORKER_IN_SERVER=1, CHAT_WORKER_INTERVAL_SECONDS="0.2", CHAT_SWEEP_INACTIVE_SECONDS=1) as base:
        ws_base = base.replace("http", "ws")
        cookie = (await sync_to_async(session_cookie)(alice.user)).decode()
        async with websockets.connect(f"{ws_base}/ws/v1/expert/", origin=base, additional_headers={"Cookie": cookie}) as expert:
            await recv_type(expert, "welcome")
            async with websockets.connect(f"{ws_base}/ws/v1/visitor/acme/", origin="https://shop.acme.test") as visitor:
                await visitor.send(json.dumps({"type": "hello", "token": None}))
                await recv_type(visitor, "welcome")
                await visitor.send(json.dumps({"type": "conversation.start", "text": "Which size?", "client_id": "v1"}))
                conversation_id = (await recv_type(visitor, "conversation"))["conversation"]["id"]
                await expert.send(json.dumps({"type": "conversation.claim", "conversation": conversation_id}))
                await recv_type(expert, "conversation")
            await asyncio.sleep(0.3)  # the visitor's close reaches the server
            await database_sync_to_async(_idle_for_an_hour)(conversation_id)  # closes its connection after
            ended = (await recv_type(expert, "conversation", timeout=10))["conversation"]
            assert (ended["id"], ended["status"], ended["end_reason"]) == (conversation_id, "ended", "inactive")
