"""Answers that reach visitors who left: the contact address, the follow-up e-mail and its link, unsubscribing,
the transcript and the unanswered e-mail; through the real sockets and `chat_worker --once` (locmem mail)."""

import re
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests.support import arun_worker_once as run_worker, client_id

pytestmark = pytest.mark.django_db(transaction=True)

ANN = "ann@example.test"


async def arun_worker_once():
    """`chat_worker --once` with every sweep due (each runs at most every so many seconds)."""
    from chatplatform.models import SweepSchedule

    await database_sync_to_async(SweepSchedule.objects.update)(next_run_at=timezone.now() - timedelta(seconds=1))
    await run_worker()


def _age_answers(conversation_id, seconds=180):
    """Make the stored expert messages older than CHAT_FOLLOWUP_DELAY_SECONDS (120 by default)."""
    from visitors.models import Message

    Message.objects.filter(conversation_id=conversation_id, author="expert").update(
        created_at=timezone.now() - timedelta(seconds=seconds))


async def _aged(conversation_id, seconds=180):
    await database_sync_to_async(_age_answers)(conversation_id, seconds)


async def _claimed(connect, expert_profile, *, email=ANN):
    """A visitor who asked (giving ``email``) and an expert who claimed it: (visitor, expert, conversation id)."""
    visitor = await connect.visitor()
    start = {"type": "conversation.start", "text": "Which size for a 30 km hike?", "client_id": client_id()}
    if email:
        start["email"] = email
    conversation_id = (await visitor.request(start, "conversation"))["conversation"]["id"]
    expert = await connect.expert(expert_profile)
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    return visitor, expert, conversation_id


async def _answer(expert, conversation_id, text):
    await expert.request({"type": "message.send", "conversation": conversation_id, "text": text, "client_id": client_id()},
                         "message")


def _link(message, kind="c"):
    found = re.search(r"http://localhost:8000(/%s/[^/\s]+/)" % ("c" if kind == "c" else "mail/unsubscribe"), message.body)
    assert found, message.body
    return found.group(1)


async def test_a_visitor_who_left_gets_the_answer_by_mail_and_its_link_resumes_the_conversation(connect, alice):
    visitor, expert, conversation_id = await _claimed(connect, alice)
    old_token = visitor.token
    await visitor.close()  # gone before the answer
    await _answer(expert, conversation_id, "Take size 42: the last is narrow.")
    await arun_worker_once()
    assert mail.outbox == []  # stored a moment ago: the visitor may still come back and read it

    await _aged(conversation_id)
    await arun_worker_once()
    [sent] = mail.outbox
    assert sent.to == [ANN] and sent.subject == "Alice answered your question on Acme Outdoor"
    assert "Alice answered your question on Acme Outdoor" in sent.body and "Take size 42: the last is narrow." in sent.body
    html, kind = sent.alternatives[0]
    assert kind == "text/html" and "Take size 42: the last is narrow." in html
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sent.extra_headers["List-Unsubscribe"] == f"<http://localhost:8000{_link(sent, 'unsubscribe')}>"

    link = _link(sent)
    browser = Client()
    confirm = await database_sync_to_async(browser.get)(link)  # a mail scanner's GET uses nothing up
    assert confirm.status_code == 200 and b"Open the conversation" in confirm.content
    assert confirm["Cache-Control"].startswith("max-age=0") and confirm["Referrer-Policy"] == "same-origin"
    opened = await database_sync_to_async(browser.post)(link)
    assert opened.status_code == 200
    token = re.search(rb'<script id="resume-token" type="application/json">"([^"]+)"</script>', opened.content).group(1).decode()

    back = await connect.visitor(token=token)
    assert back.welcome["conversation"]["id"] == conversation_id
    assert [m["text"] for m in back.welcome["messages"]][-1] == "Take size 42: the last is narrow."
    stale = await connect.visitor(token=old_token)  # the token the link replaced names nobody now
    assert stale.welcome["conversation"] is None and stale.welcome["visitor"]["id"] != back.welcome["visitor"]["id"]

    again = await database_sync_to_async(browser.post)(link)
    assert again.status_code == 410 and b"This link was already used" in again.content
    assert b"Ask a new question" in again.content and b'href="/widget/acme/"' in again.content


async def test_one_e_mail_per_interval_and_none_once_everything_was_read(connect, alice):
    from visitors.models import Conversation

    visitor, expert, conversation_id = await _claimed(connect, alice)
    await visitor.close()
    await _answer(expert, conversation_id, "First answer.")
    await _aged(conversation_id)
    await arun_worker_once()
    assert len(mail.outbox) == 1

    await _answer(expert, conversation_id, "Second answer, a minute later.")
    await _aged(conversation_id)
    await arun_worker_once()
    assert len(mail.outbox) == 1  # within CHAT_FOLLOWUP_MIN_INTERVAL_SECONDS of the first

    # The interval has passed: the unread answers go out again, in one e-mail.
    await database_sync_to_async(Conversation.objects.filter(pk=conversation_id).update)(
        followup_queued_at=timezone.now() - timedelta(seconds=901))
    await arun_worker_once()
    assert len(mail.outbox) == 2 and "Second answer, a minute later." in mail.outbox[1].body
    await arun_worker_once()
    assert len(mail.outbox) == 2  # nothing new since: nothing sent

    # The visitor comes back and reads everything; a later sweep past the interval sends nothing.
    back = await connect.visitor(token=visitor.token)
    await back.send({"type": "read", "seq": back.welcome["conversation"]["last_seq"]})
    await back.request({"type": "ping"}, "pong")
    await back.close()
    await database_sync_to_async(Conversation.objects.filter(pk=conversation_id).update)(
        followup_queued_at=timezone.now() - timedelta(seconds=901))
    await arun_worker_once()
    assert len(mail.outbox) == 2


async def test_no_e_mail_while_the_visitor_is_here_or_without_an_address(connect, alice, make_expert, brand):
    here, expert, conversation_id = await _claimed(connect, alice)
    await _answer(expert, conversation_id, "You are still here.")
    await _aged(conversation_id)
    await arun_worker_once()
    assert mail.outbox == []  # the widget is open: it shows the answer

    bob = await database_sync_to_async(make_expert)("bob", brands=[brand])
    silent, bobs, other = await _claimed(connect, bob, email=None)
    await silent.close()
    await _answer(bobs, other, "Nobody to tell.")
    await _aged(other)
    await arun_worker_once()
    assert mail.outbox == []

    await here.close()  # now the first visitor is away too: their answer goes, the other still has no address
    await arun_worker_once()
    assert [(m.to, "You are still here." in m.body) for m in mail.outbox] == [([ANN], True)]


async def test_unsubscribe_in_one_click_or_through_the_page(connect, alice, make_expert, brand):
    visitor, expert, conversation_id = await _claimed(connect, alice)
    await visitor.close()
    await _answer(expert, conversation_id, "Answer one.")
    await _aged(conversation_id)
    await arun_worker_once()
    unsubscribe = _link(mail.outbox[0], "unsubscribe")

    mail_client = Client(enforce_csrf_checks=True)  # RFC 8058: a bare POST, no cookie, no token
    page = await database_sync_to_async(mail_client.get)(unsubscribe)
    assert page.status_code == 200 and b"Stop all e-mails" in page.content
    done = await database_sync_to_async(mail_client.post)(unsubscribe, {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and b"You are unsubscribed" in done.content
    assert (await database_sync_to_async(mail_client.post)(unsubscribe)).status_code == 200  # twice: the same

    from visitors.models import Conversation

    await _answer(expert, conversation_id, "Answer two.")
    await database_sync_to_async(Conversation.objects.filter(pk=conversation_id).update)(
        followup_queued_at=timezone.now() - timedelta(seconds=901))
    await _aged(conversation_id)
    await arun_worker_once()
    assert len(mail.outbox) == 1  # the address unsubscribed

    # The same address given again is refused; another address works.
    other = await connect.visitor()
    refused = await other.error({"type": "contact.set", "email": ANN.upper().replace("EXAMPLE.TEST", "example.test")})
    assert refused["code"] == "invalid_field"
    assert (await database_sync_to_async(Client().get)("/mail/unsubscribe/forged/")).status_code == 404


async def test_contact_set_validates_and_experts_never_see_the_address(connect, alice):
    visitor = await connect.visitor()
    assert visitor.welcome["visitor"]["email"] is None
    for bad in ["not-an-address", "a@b", "ann@example.test\nBcc: x@y.test", "", "x" * 250 + "@example.test", 7]:
        error = await visitor.error({"type": "contact.set", "email": bad})
        assert error["code"] in ("invalid_field", "too_long"), (bad, error)
    assert (await visitor.error({"type": "contact.set"}))["code"] == "invalid_field"  # the field is required (null clears)
    contact = await visitor.request({"type": "contact.set", "email": "Ann@Example.TEST"}, "contact")
    assert contact == {"type": "contact", "email": "Ann@example.test"}

    start = {"type": "conversation.start", "text": "Waterproof?", "client_id": client_id()}
    conversation = (await visitor.request(start, "conversation"))["conversation"]
    expert = await connect.expert(alice)
    [queued] = [c for c in expert.welcome["queue"] if c["id"] == conversation["id"]]
    assert queued["visitor"]["reachable"] is True and "email" not in queued["visitor"]
    cleared = await visitor.request({"type": "contact.set", "email": None}, "contact")
    assert cleared["email"] is None
    updated = await expert.recv_type("queue.updated")
    assert updated["conversation"]["visitor"]["reachable"] is False
    await visitor.request({"type": "contact.set", "email": ANN}, "contact")
    await expert.request({"type": "conversation.claim", "conversation": conversation["id"]}, "conversation")
    await _answer(expert, conversation["id"], "Yes, fully.")
    await expert.request({"type": "conversation.end", "conversation": conversation["id"]}, "conversation")
    await expert.drain()
    assert expert.log and all(ANN.lower() not in str(frame).lower() for frame in [expert.welcome, *expert.log])
    again = await connect.expert(alice)
    assert ANN.lower() not in str(again.welcome).lower()

    # hello may carry it too; the welcome shows it back to the visitor only.
    hello_with = await connect.visitor(hello=False)
    await hello_with.send({"type": "hello", "token": visitor.token, "email": "new@example.test"})
    welcome = await hello_with.recv_type("welcome")
    assert welcome["visitor"]["email"] == "new@example.test"


async def test_a_refused_start_keeps_the_address_and_an_unsubscribed_one_at_hello_is_refused_after_the_welcome(connect, brand):
    from visitors.followups import email_hash
    from visitors.models import MailOptOut

    visitor = await connect.visitor()
    await visitor.request({"type": "contact.set", "email": ANN}, "contact")
    await visitor.request({"type": "conversation.start", "text": "First?", "client_id": "s1"}, "conversation")
    second = {"type": "conversation.start", "text": "Second?", "client_id": "s2", "email": "other@example.test"}
    assert (await visitor.error(second))["code"] == "conversation_open"
    exported = await visitor.request({"type": "data.export"}, "data.export")
    assert exported["data"]["visitor"]["email"] == ANN  # the refused start changed nothing

    await database_sync_to_async(MailOptOut.objects.create)(address_hash=email_hash("gone@example.test"))
    again = await connect.visitor(hello=False)
    await again.send({"type": "hello", "token": visitor.token, "email": "gone@example.test"})
    welcome = await again.recv()
    assert welcome["type"] == "welcome" and welcome["visitor"]["email"] == ANN
    assert (await again.recv())["code"] == "invalid_field"
    await again.request({"type": "ping"}, "pong")  # the session stays open


def test_the_admin_shows_managers_no_contact_address(brand, admin_client):
    from visitors.models import Visitor

    visitor = Visitor.objects.create(brand=brand, token_hash="y" * 64, nickname="Sam", email=ANN)
    page = admin_client.get(f"/admin/visitors/visitor/{visitor.pk}/change/")
    assert page.status_code == 200 and b"Sam" in page.content and ANN.encode() not in page.content


async def test_the_transcript_by_e_mail_once_per_conversation(connect, alice):
    visitor, expert, conversation_id = await _claimed(connect, alice, email=None)
    await _answer(expert, conversation_id, "Size 42.")
    assert (await visitor.error({"type": "transcript.send"}))["code"] == "no_conversation"  # still open
    await visitor.request({"type": "conversation.end"}, "conversation")
    assert (await visitor.error({"type": "transcript.send"}))["code"] == "invalid_field"  # no address yet
    await visitor.request({"type": "contact.set", "email": ANN}, "contact")
    queued = await visitor.request({"type": "transcript.send"}, "transcript.queued")
    assert queued == {"type": "transcript.queued", "conversation": conversation_id}
    from visitors.followups import request_transcript
    from visitors.models import Visitor

    row = await database_sync_to_async(Visitor.objects.get)(pk=visitor.welcome["visitor"]["id"])
    await database_sync_to_async(request_transcript)(visitor=row)  # asked twice: still one e-mail
    await arun_worker_once()
    [sent] = mail.outbox
    assert sent.to == [ANN] and sent.subject == "Your conversation on Acme Outdoor"
    assert "You (" in sent.body and "Which size for a 30 km hike?" in sent.body and "Alice (" in sent.body
    assert "Size 42." in sent.body and sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


async def test_the_transcript_has_a_flood_limit(connect, alice, settings):
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "transcript": {"visitor": "1/hour", "address": "10/hour"}}
    visitor, expert, conversation_id = await _claimed(connect, alice)
    await visitor.request({"type": "conversation.end"}, "conversation")
    await visitor.request({"type": "transcript.send"}, "transcript.queued")
    assert (await visitor.error({"type": "transcript.send"}))["code"] == "rate_limited"


async def test_a_question_closed_unanswered_is_told_by_e_mail_with_a_way_to_ask_again(connect, brand):
    from visitors.models import Conversation

    visitor = await connect.visitor()
    await visitor.request({"type": "contact.set", "email": ANN}, "contact")
    start = {"type": "conversation.start", "text": "Anyone about tents?", "client_id": client_id()}
    conversation_id = (await visitor.request(start, "conversation"))["conversation"]["id"]
    silent = await connect.visitor()
    await silent.request({"type": "conversation.start", "text": "And me?", "client_id": client_id()}, "conversation")
    await visitor.close()
    await database_sync_to_async(Conversation.objects.update)(created_at=timezone.now() - timedelta(days=8))
    await arun_worker_once()
    [sent] = mail.outbox  # the visitor without an address gets none
    assert sent.to == [ANN] and sent.subject == "No expert was free on Acme Outdoor"
    assert "within 7 days" in sent.body and "Anyone about tents?" in sent.body
    opened = await database_sync_to_async(Client().post)(_link(sent))
    assert opened.status_code == 200 and b"resume-token" in opened.content
    await arun_worker_once()
    assert len(mail.outbox) == 1


def test_an_expired_or_forged_link_says_so(brand, monkeypatch):
    import time

    from django.core import signing

    from visitors import followups
    from visitors.models import Conversation, Visitor

    visitor = Visitor.objects.create(brand=brand, token_hash="x" * 64, email=ANN)
    conversation = Conversation.objects.create(brand=brand, visitor=visitor)
    real = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real() - 15 * 24 * 3600)
    old = followups.resume_link(conversation=conversation).removeprefix("http://localhost:8000")
    monkeypatch.setattr(signing.time, "time", real)
    for method in ("get", "post"):
        expired = getattr(Client(), method)(old)
        assert expired.status_code == 410 and b"This link has expired" in expired.content and b"Ask a new question" in expired.content
    assert Visitor.objects.get(pk=visitor.pk).token_hash == "x" * 64  # nothing changed
    forged = Client().get(old[:-6] + "AAAAA/")
    assert forged.status_code == 404 and b"This link does not work" in forged.content


async def test_export_holds_the_address_and_erasure_removes_it_and_voids_the_links(connect, alice):
    from moderation.privacy import purge_personal_data
    from visitors.models import ResumeLink, Visitor

    visitor, expert, conversation_id = await _claimed(connect, alice)
    exported = await visitor.request({"type": "data.export"}, "data.export")
    assert exported["data"]["visitor"]["email"] == ANN and exported["data"]["visitor"]["email_consented_at"]
    await visitor.close()
    await _answer(expert, conversation_id, "An answer.")
    await _aged(conversation_id)
    await arun_worker_once()
    link = _link(mail.outbox[0])
    back = await connect.visitor(token=visitor.token)
    await back.send({"type": "data.erase"})
    await back.closed_with()
    row = await database_sync_to_async(Visitor.objects.get)(pk=back.welcome["visitor"]["id"])
    assert (row.email, row.email_consented_at) == ("", None)
    assert not await database_sync_to_async(ResumeLink.objects.exists)()
    assert (await database_sync_to_async(Client().post)(link)).status_code == 404

    # The retention purge removes it from visitors not seen since the cutoff.
    keeper = await connect.visitor()
    await keeper.request({"type": "contact.set", "email": "keep@example.test"}, "contact")
    await keeper.close()
    await database_sync_to_async(Visitor.objects.filter(pk=keeper.welcome["visitor"]["id"]).update)(
        last_seen=timezone.now() - timedelta(days=200))
    await database_sync_to_async(purge_personal_data)(days=180)
    assert await database_sync_to_async(lambda: Visitor.objects.get(pk=keeper.welcome["visitor"]["id"]).email)() == ""
