"""Personal data: never stored raw, never logged, rotated keys, retention, export and erasure."""

import asyncio
import http.cookiejar
import io
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.apps import apps
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import models
from django.utils import timezone

from tests.e2e.servers import daphne_server
from tests.support import client_id, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "198.51.100.77"


@pytest.fixture
def via_proxy(settings):
    settings.CLIENT_ADDRESS_HEADER = "X-Forwarded-For"
    settings.CLIENT_ADDRESS_PROXY_COUNT = 1


async def full_conversation(connect, expert_profile, *, nickname="Sam Doe", address=ADDRESS):
    visitor = await connect.visitor(nickname=nickname, address=address)
    await visitor.send({"type": "conversation.start", "text": "my order 4711 is late", "client_id": client_id()})
    conversation_id = (await visitor.recv_type("conversation"))["conversation"]["id"]
    expert = await connect.expert(expert_profile)
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await visitor.send({"type": "message.send", "text": "call me at 555-0100", "client_id": client_id()})
    await expert.recv_type("message")
    await visitor.request({"type": "report.file", "category": "other", "description": "slow answer",
                           "email": "sam@example.test", "conversation": conversation_id}, "report.filed")
    return visitor, expert, conversation_id


def every_text_value():
    """Every value of every text-like column of every model, as strings."""
    values = []
    for model in apps.get_models():
        fields = [f.attname for f in model._meta.concrete_fields
                  if isinstance(f, (models.CharField, models.TextField, models.JSONField, models.GenericIPAddressField))]
        for row in model.objects.values_list(*fields) if fields else []:
            values.extend(str(v) for v in row if v)
    return values


async def test_network_addresses_and_tokens_are_never_stored_raw(connect, brand, alice, via_proxy):
    # Guards against: personal data at rest (raw IP addresses, bearer tokens) exposed by a database leak or backup.
    visitor, expert, conversation_id = await full_conversation(connect, alice)
    await expert.request({"type": "moderation.block", "conversation": conversation_id, "reason": "test", "duration_hours": 1},
                         "block.created")
    values = await database_sync_to_async(every_text_value)()
    assert values, "the scan found nothing: it would pass vacuously"
    assert any("call me at 555-0100" in v for v in values)  # the scan does see ordinary data
    assert not [v for v in values if ADDRESS in v]
    assert not [v for v in values if visitor.token in v]


async def test_tokens_and_addresses_never_reach_a_log_line(connect, brand, alice, via_proxy, caplog, monkeypatch, settings):
    # Guards against: secrets and personal data in logs (tokens, addresses in log lines, tracebacks or URLs).
    caplog.set_level(logging.DEBUG)
    settings.CHAT_ASYNC_DB = False  # the thread's path is the one that logs a traceback with the frame
    visitor, expert, conversation_id = await full_conversation(connect, alice)
    resumed = await connect.visitor(token=visitor.token, last_seq=1, address=ADDRESS)
    # A failing database makes the consumer log a traceback: the frame in it must not carry the token.
    from django.db import OperationalError

    from visitors import store

    def broken(*args, **kwargs):
        raise OperationalError("database is down")

    monkeypatch.setattr(store, "_thread_visitor", broken)
    assert (await resumed.error({"type": "message.send", "text": "x", "client_id": client_id()}))["code"] == "unavailable"
    assert any(r.levelno >= logging.ERROR for r in caplog.records), "no error was logged: nothing was checked"
    for record in caplog.records:
        text = record.getMessage() + (caplog.handler.format(record) if record.exc_info else "")
        assert visitor.token not in text and ADDRESS not in text, text


async def test_blocks_by_address_survive_a_key_rotation(connect, brand, alice, via_proxy, settings):
    # Guards against: key rotation silently voiding every block by address (or keeping old keys forever).
    settings.ADDRESS_HASH_KEY = "old-address-key"
    visitor, expert, conversation_id = await full_conversation(connect, alice)
    await expert.request({"type": "moderation.block", "conversation": conversation_id, "reason": "abuse", "duration_hours": 24},
                         "block.created")
    settings.ADDRESS_HASH_KEY = "new-address-key"
    settings.ADDRESS_HASH_PREVIOUS_KEYS = ["old-address-key"]
    again = await connect.visitor(address=ADDRESS, hello=False)
    await again.send({"type": "hello", "token": None})
    assert (await again.recv())["code"] == "blocked"
    assert await again.closed_with() == 4403
    # Once the old key is dropped, the old hash no longer matches anything.
    settings.ADDRESS_HASH_PREVIOUS_KEYS = []
    fresh = await connect.visitor(address=ADDRESS)
    assert fresh.welcome["type"] == "welcome"


async def test_retention_command_purges_old_ended_conversations_only(connect, brand, alice, via_proxy):
    # Guards against: keeping personal data forever (storage limitation), or a purge that eats live conversations.
    from moderation.models import ReportTicket
    from visitors.models import Conversation, Message, Visitor

    old_visitor, _, old_id = await full_conversation(connect, alice, nickname="Old Timer")
    await old_visitor.request({"type": "conversation.end"}, "conversation")
    live_visitor, _, live_id = await full_conversation(connect, alice, nickname="Still Here", address="203.0.113.5")

    def age_the_first():
        long_ago = Conversation.objects.get(pk=old_id).ended_at - timedelta(days=200)
        Conversation.objects.filter(pk=old_id).update(ended_at=long_ago)
        Visitor.objects.filter(conversations__pk=old_id).update(last_seen=long_ago)
        out = io.StringIO()
        call_command("purge_personal_data", stdout=out)  # default: RETENTION_DAYS (180)
        return out.getvalue()

    output = await database_sync_to_async(age_the_first)()
    assert "Purged" in output

    def state(conversation_id):
        conversation = Conversation.objects.select_related("visitor").get(pk=conversation_id)
        return {
            "texts": list(Message.objects.filter(conversation_id=conversation_id).values_list("text", flat=True)),
            "names": set(Message.objects.filter(conversation_id=conversation_id, author="visitor").values_list("author_name", flat=True)),
            "nickname": conversation.visitor.nickname,
            "address_hash": conversation.visitor.address_hash,
            "emails": list(ReportTicket.objects.filter(conversation_id=conversation_id).values_list("email", flat=True)),
        }

    old = await database_sync_to_async(state)(old_id)
    assert set(old["texts"]) == {"[removed]"} and old["names"] == {"Visitor"}
    assert old["nickname"] == "" and old["address_hash"] == "" and old["emails"] == [""]
    live = await database_sync_to_async(state)(live_id)
    assert "call me at 555-0100" in live["texts"] and live["nickname"] == "Still Here"
    assert live["address_hash"] and live["emails"] == ["sam@example.test"]


async def test_retention_period_decides_what_is_purged_and_days_overrides_the_setting(connect, brand, alice, via_proxy, settings):
    # Guards against: a purge that ignores its period (deleting last week's transcripts, or keeping last year's) or its --days flag.
    from visitors.models import Conversation, Message, Visitor

    ended = {}
    for age, nickname in ((10, "Ten Days"), (40, "Forty Days")):
        visitor, _, conversation_id = await full_conversation(connect, alice, nickname=nickname)
        await visitor.request({"type": "conversation.end"}, "conversation")
        ended[age] = conversation_id

    def age_them():
        for age, conversation_id in ended.items():
            when = Conversation.objects.get(pk=conversation_id).ended_at - timedelta(days=age)
            Conversation.objects.filter(pk=conversation_id).update(ended_at=when)
            Visitor.objects.filter(conversations__pk=conversation_id).update(last_seen=when)

    def purge(*args):
        out = io.StringIO()
        call_command("purge_personal_data", *args, stdout=out)
        return out.getvalue()

    def kept(conversation_id):
        texts = set(Message.objects.filter(conversation_id=conversation_id).values_list("text", flat=True))
        nickname = Conversation.objects.select_related("visitor").get(pk=conversation_id).visitor.nickname
        return "call me at 555-0100" in texts and "[removed]" not in texts and nickname != ""

    await database_sync_to_async(age_them)()
    settings.RETENTION_DAYS = 5  # were --days ignored, the 10-day-old conversation would go too
    output = await database_sync_to_async(purge)("--days", "30")
    assert "older than 30 days" in output
    assert await database_sync_to_async(kept)(ended[10])
    assert not await database_sync_to_async(kept)(ended[40])
    # Without --days the setting decides: 5 days, so the 10-day-old one goes now.
    output = await database_sync_to_async(purge)()
    assert "older than 5 days" in output
    assert not await database_sync_to_async(kept)(ended[10])


async def test_a_visitor_can_export_then_erase_their_data(connect, brand, alice, via_proxy):
    # Guards against: no way to honour data-subject access and erasure requests (GDPR art. 15 and 17).
    from moderation.models import ReportTicket
    from visitors.models import Message

    visitor, expert, conversation_id = await full_conversation(connect, alice)
    second_tab = await connect.visitor(token=visitor.token, address=ADDRESS)
    exported = await visitor.request({"type": "data.export"}, "data.export")
    data = exported["data"]
    assert data["visitor"]["nickname"] == "Sam Doe"
    assert [c["id"] for c in data["conversations"]] == [conversation_id]
    assert [m["text"] for m in data["conversations"][0]["messages"]] == ["my order 4711 is late", "call me at 555-0100"]
    assert data["reports"][0]["email"] == "sam@example.test"

    await visitor.send({"type": "data.erase"})
    for tab in (visitor, second_tab):
        assert (await tab.recv_type("data.erased", timeout=2))["type"] == "data.erased"
        assert await tab.closed_with(timeout=2) == 4401
    assert (await expert.recv_type("conversation"))["conversation"]["status"] == "ended"
    texts = await database_sync_to_async(lambda: set(Message.objects.filter(conversation_id=conversation_id).values_list("text", flat=True)))()
    assert texts == {"[removed]"}
    emails = await database_sync_to_async(lambda: list(ReportTicket.objects.values_list("email", flat=True)))()
    assert emails == [""]
    # The old token no longer opens the erased visitor: it is a stranger now.
    again = await connect.visitor(token=visitor.token, address=ADDRESS)
    assert again.welcome["visitor"]["id"] != data["visitor"]["id"] and again.welcome["conversation"] is None


class Browser:
    """urllib with a cookie jar, as a browser talks to the server through a proxy that adds X-Forwarded-For."""

    def __init__(self, base, address):
        self.base, self.address = base, address
        self.headers = {"X-Forwarded-For": address}
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path, **data) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data else None
        request = urllib.request.Request(self.base + path, data=body, headers={**self.headers, "Referer": self.base + path})
        try:
            with self.opener.open(request, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def cookie(self, name) -> str:
        return next(c.value for c in self.jar if c.name == name)


@pytest.mark.e2e
async def test_through_daphne_the_log_holds_no_address_token_session_or_secret_url(brand, alice):
    # Guards against: raw client addresses, bearer tokens and session ids in server logs (daphne's access log, warnings, URLs).
    env = {"CLIENT_ADDRESS_HEADER": "X-Forwarded-For", "CLIENT_ADDRESS_PROXY_COUNT": 1}
    with daphne_server(**env) as base:
        ws = base.replace("http", "ws")
        browser = Browser(base, ADDRESS)
        status, widget_page = await sync_to_async(browser.get)("/widget/acme/")
        assert status == 200
        status, login_page = await sync_to_async(browser.get)("/login/")
        csrf = browser.cookie("csrftoken")
        wrong = await sync_to_async(browser.get)("/login/", username="alice", password="wrong", csrfmiddlewaretoken=csrf)
        assert wrong[0] == 200  # the form again: a failed sign-in, which django-axes logs
        # Signed in (the server's hasher differs from the tests' fast one, so the session is made here).
        session = (await sync_to_async(session_cookie)(alice.user)).decode().split("=", 1)[1]
        browser.headers["Cookie"] = f"{django_settings.SESSION_COOKIE_NAME}={session}"
        status, dashboard_page = await sync_to_async(browser.get)("/dashboard/")
        assert status == 200 and 'id="dashboard"' in dashboard_page
        for path in ("/healthz", "/static/widget/loader.js", "/dashboard/profile/", "/no-such-page/"):
            await sync_to_async(browser.get)(path)

        # The sockets open on the paths the pages name: no token, session or anything else in a query string.
        paths = {name: re.search(r'data-ws-path="([^"]*)"', page).group(1)
                 for name, page in (("widget", widget_page), ("dashboard", dashboard_page))}
        assert paths == {"widget": "/ws/v1/visitor/acme/", "dashboard": "/ws/v1/expert/"}
        urls = re.findall(r'(?:src|href|action|data-[a-z-]+)="([^"]*)"', widget_page + dashboard_page + login_page)
        assert urls and not [u for u in urls if "?" in u and any(k in u.lower() for k in ("token", "session", "csrf", "key"))]
        proxied = {"X-Forwarded-For": ADDRESS}
        async with websockets.connect(ws + paths["widget"], origin="https://shop.acme.test", additional_headers=proxied) as visitor:
            await visitor.send(json.dumps({"type": "hello", "token": None, "nickname": "Sam Doe"}))
            token = json.loads(await asyncio.wait_for(visitor.recv(), 5))["token"]
            await visitor.send(json.dumps({"type": "conversation.start", "text": "my order 4711", "client_id": "c1"}))
            await visitor.send("not json at all")  # an error frame, and whatever the server logs about it
            cookie = {"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={session}", **proxied}
            async with websockets.connect(ws + paths["dashboard"], origin=base, additional_headers=cookie) as expert:
                assert json.loads(await asyncio.wait_for(expert.recv(), 5))["type"] == "welcome"
            with pytest.raises(websockets.InvalidStatus):  # refused before accept: a 403 daphne would log
                await websockets.connect(ws + paths["dashboard"], origin="https://evil.test", additional_headers=cookie)
        async with websockets.connect(ws + paths["widget"], origin="https://shop.acme.test", additional_headers=proxied) as again:
            await again.send(json.dumps({"type": "hello", "token": token}))
            assert json.loads(await asyncio.wait_for(again.recv(), 5))["type"] == "welcome"
        await asyncio.sleep(0.3)
    log = base.log_path.read_text()
    assert "Not Found: /no-such-page/" in log  # the log is the server's, and it does log requests that go wrong
    for secret in (ADDRESS, "127.0.0.1", token, session, csrf):
        assert secret not in log, (secret, log[-3000:])


async def test_erasure_keeps_what_others_wrote_and_the_evidence_of_an_open_expert_report(connect, brand, alice, via_proxy):
    # Guards against: a reported visitor erasing the evidence (the expert's lines, the expert's ticket, their own lines
    # under an open report), or erasure that never finishes once the report is resolved.
    from moderation.models import ReportTicket
    from visitors.models import Message

    visitor, expert, conversation_id = await full_conversation(connect, alice)
    await expert.request({"type": "message.send", "conversation": conversation_id, "text": "Please stay polite.",
                          "client_id": client_id()}, "message")
    await expert.request({"type": "report.file", "conversation": conversation_id, "category": "disrespectful",
                          "description": "Insulted me twice."}, "report.filed")
    await visitor.send({"type": "data.erase"})
    assert await visitor.closed_with(timeout=2) == 4401

    def lines():
        return {(m.author, m.author_name, m.text) for m in Message.objects.filter(conversation_id=conversation_id)}

    def tickets():
        return {t.filed_by: (t.description, t.email) for t in ReportTicket.objects.filter(conversation_id=conversation_id)}

    kept = await database_sync_to_async(lines)()
    assert "Please stay polite." in {t for a, _, t in kept if a == "expert"}
    assert ("visitor", "Sam Doe", "call me at 555-0100") in kept  # under an open expert report: kept for now
    assert await database_sync_to_async(tickets)() == {"expert": ("Insulted me twice.", ""), "visitor": ("[removed]", "")}

    # Once the ticket is resolved, the next purge finishes the erasure (whatever the retention period).
    await database_sync_to_async(lambda: ReportTicket.objects.filter(filed_by="expert").update(status="resolved"))()
    await database_sync_to_async(call_command)("purge_personal_data", stdout=io.StringIO())
    after = await database_sync_to_async(lines)()
    assert {t for a, _, t in after if a == "visitor"} == {"[removed]"} and {n for a, n, _ in after if a == "visitor"} == {"Visitor"}
    assert "Please stay polite." in {t for a, _, t in after if a == "expert"}
    assert (await database_sync_to_async(tickets)())["expert"] == ("Insulted me twice.", "")


async def test_erasure_without_a_report_blanks_the_visitors_lines_but_not_the_experts(connect, brand, alice, via_proxy):
    # Guards against: erasure blanking what the expert wrote (not the visitor's personal data).
    from visitors.models import Message

    visitor, expert, conversation_id = await full_conversation(connect, alice)
    await expert.request({"type": "message.send", "conversation": conversation_id, "text": "Your parcel ships today.",
                          "client_id": client_id()}, "message")
    await visitor.send({"type": "data.erase"})
    assert await visitor.closed_with(timeout=2) == 4401
    texts = await database_sync_to_async(
        lambda: {(m.author, m.text) for m in Message.objects.filter(conversation_id=conversation_id)})()
    assert texts == {("visitor", "[removed]"), ("expert", "Your parcel ships today.")}


async def test_retention_purges_a_conversation_never_ended_once_its_last_activity_is_old(connect, brand, alice, via_proxy):
    # Guards against: an abandoned question (never ended) keeping its texts, nickname and address hash forever.
    from visitors.models import Conversation, Message, Visitor

    old_visitor, _, old_id = await full_conversation(connect, alice, nickname="Gone Away")
    await old_visitor.close()
    recent_visitor, _, recent_id = await full_conversation(connect, alice, nickname="Just Wrote", address="203.0.113.5")

    def age(conversation_id, days):
        when = timezone.now() - timedelta(days=days)
        Conversation.objects.filter(pk=conversation_id).update(created_at=when)
        Message.objects.filter(conversation_id=conversation_id).update(created_at=when)
        Visitor.objects.filter(conversations__pk=conversation_id).update(last_seen=when)

    def purge():
        out = io.StringIO()
        call_command("purge_personal_data", "--days", "30", stdout=out)
        return out.getvalue()

    def state(conversation_id):
        conversation = Conversation.objects.select_related("visitor").get(pk=conversation_id)
        texts = set(Message.objects.filter(conversation_id=conversation_id).values_list("text", flat=True))
        return conversation.status, conversation.ended_by, texts, conversation.visitor.nickname, conversation.visitor.address_hash

    await database_sync_to_async(age)(old_id, 40)
    # Created 40 days ago, but its last message is from 10 days ago: still active, kept.
    await database_sync_to_async(age)(recent_id, 40)
    await database_sync_to_async(
        lambda: Message.objects.filter(conversation_id=recent_id, seq=2).update(created_at=timezone.now() - timedelta(days=10)))()
    output = await database_sync_to_async(purge)()
    assert "1 abandoned" in output
    status, ended_by, texts, nickname, address_hash = await database_sync_to_async(state)(old_id)
    assert (status, ended_by, texts, nickname, address_hash) == ("ended", "system", {"[removed]"}, "", "")
    status, _, texts, nickname, _ = await database_sync_to_async(state)(recent_id)
    assert status == "active" and "call me at 555-0100" in texts and nickname == "Just Wrote"


async def test_retention_keeps_a_conversation_under_an_open_expert_report_until_it_is_dismissed(connect, brand, alice, via_proxy):
    # Guards against: the retention purge destroying the evidence of a report nobody has worked yet.
    from moderation.models import ReportTicket
    from visitors.models import Conversation, Message

    visitor, expert, conversation_id = await full_conversation(connect, alice)
    await expert.request({"type": "report.file", "conversation": conversation_id, "category": "inappropriate",
                          "description": "Spam links."}, "report.filed")
    await visitor.request({"type": "conversation.end"}, "conversation")

    def age_and_purge():
        Conversation.objects.filter(pk=conversation_id).update(ended_at=timezone.now() - timedelta(days=400))
        call_command("purge_personal_data", stdout=io.StringIO())
        return set(Message.objects.filter(conversation_id=conversation_id).values_list("text", flat=True))

    assert "call me at 555-0100" in await database_sync_to_async(age_and_purge)()
    await database_sync_to_async(lambda: ReportTicket.objects.filter(filed_by="expert").update(status="dismissed"))()
    assert await database_sync_to_async(age_and_purge)() == {"[removed]"}


async def test_retention_purges_a_closed_report_about_no_conversation_and_keeps_an_open_one(connect, brand, via_proxy):
    # Guards against: a visitor's report text (filed without a conversation) kept forever once the ticket is closed.
    from moderation.models import ReportTicket

    visitor = await connect.visitor(nickname="Kim", address=ADDRESS)
    for words in ("The widget covers the checkout button.", "Still covered, see my phone."):
        await visitor.request({"type": "report.file", "category": "other", "description": words}, "report.filed")

    def age_close_one_and_purge():
        ReportTicket.objects.update(created_at=timezone.now() - timedelta(days=200))
        ReportTicket.objects.filter(description__startswith="The widget").update(status="resolved")
        call_command("purge_personal_data", stdout=io.StringIO())
        return set(ReportTicket.objects.values_list("status", "description"))

    assert await database_sync_to_async(age_close_one_and_purge)() == {
        ("resolved", "[removed]"), ("open", "Still covered, see my phone.")}
