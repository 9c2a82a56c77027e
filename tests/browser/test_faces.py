"""The three faces in a real browser: a visitor on the demo shop, an expert on the dashboard.

Each test starts daphne on the test database (conftest.live_server_url) and
drives Debian's chromium. Waits are on visible conditions, never on time.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = "<img src=x onerror=alert(1)>"
COMMON_JS = Path(__file__).resolve().parents[2] / "static" / "chat" / "common.js"
LAUNCHER = "button.chat-widget-launcher"
WIDGET_FRAME = "iframe[title='Chat with the community']"


def sign_in(page, base, username="alice"):
    page.goto(base + "/dashboard/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo-pass-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#connection")).to_have_text("Connected")


def open_widget(page, base):
    page.goto(base + "/demo/")
    page.get_by_role("button", name=re.compile("Open the community chat")).click()
    widget = page.frame_locator("iframe[title='Chat with the community']")
    expect(widget.locator("#connection")).to_have_text("Connected")
    return widget


def ask(widget, question, nickname="Sam"):
    widget.get_by_label("Your nickname").fill(nickname)
    widget.get_by_label("Your question").fill(question)
    widget.get_by_role("button", name="Ask the community").click()
    expect(widget.locator("li.msg-visitor[data-seq='1']")).to_contain_text(question)


def claim(expert, nickname="Sam"):
    item = expert.locator(".queue-item", has_text=nickname)
    item.get_by_role("button", name=re.compile("Claim")).click()
    expect(expert.get_by_role("tab", name=re.compile(nickname))).to_be_visible()
    return expert.locator(".conv-panel:not([hidden])")


def expert_says(panel, text):
    panel.get_by_label("Your message").fill(text)
    panel.get_by_role("button", name="Send").click()


def start_conversation(new_page, base):
    expert = new_page()
    sign_in(expert, base)
    visitor = new_page()
    widget = open_widget(visitor, base)
    expect(widget.locator("#experts-online")).to_have_text("1 expert online")
    ask(widget, "Which shoe for muddy trails?")
    queued = expert.locator(".queue-item", has_text="Sam")
    expect(queued).to_contain_text("Which shoe for muddy trails?")
    panel = claim(expert)
    expect(widget.locator("#expert-name")).to_have_text("Alice")
    expect(widget.locator("#expert-bio")).to_contain_text("Trail runner")
    return expert, visitor, widget, panel


def test_the_queue_shows_whether_the_visitor_is_still_here(live_server_url, new_page):
    expert = new_page()
    sign_in(expert, live_server_url)
    visitor = new_page()
    ask(open_widget(visitor, live_server_url), "Which shoe for muddy trails?")
    item = expert.locator(".queue-item", has_text="Sam")
    expect(item.locator(".queue-presence")).to_have_text("Visitor is here")
    visitor.close()  # the visitor leaves the shop: the question stays, and the queue says so
    expect(item.locator(".queue-presence")).to_have_text("Visitor left 1 min ago")
    expect(item.get_by_role("button", name=re.compile("Claim"))).to_be_enabled()


def test_visitor_and_expert_hold_a_conversation(live_server_url, new_page, screenshot):
    expert, visitor, widget, panel = start_conversation(new_page, live_server_url)
    expect(widget.locator("#independent")).to_contain_text("not Acme Outdoor staff")

    expert_says(panel, "Hi Sam! Lugs of 5 mm or more grip mud best.")
    expect(widget.locator("li.msg-expert")).to_contain_text("Lugs of 5 mm")
    # The visitor's widget is open: the expert sees the message read.
    expect(panel.locator("li.msg-expert .msg-status")).to_have_text("Read")

    widget.get_by_label("Your message").fill("Thanks! And for wide feet?")
    widget.get_by_role("button", name="Send").click()
    expect(panel.locator("li.msg-visitor", has_text="wide feet")).to_be_visible()
    expect(widget.locator("li.msg-visitor[data-seq='3'] .msg-status")).to_have_text("Read")

    # Typing shows on the other side.
    panel.get_by_label("Your message").press_sequentially("Let me")
    expect(widget.locator("#typing")).to_have_text("Alice is typing…")

    # A warning the sockets never heard of (stored behind their back) still
    # arrives, in order, with the next message: the seq gap is filled.
    from visitors.models import Conversation
    from visitors.services import post_system_message

    conversation = Conversation.objects.get()
    post_system_message(conversation_id=conversation.pk, text="Please remain polite and respectful!", kind="warning")
    panel.get_by_label("Your message").fill("Try the wide version of the Ridgeline.")
    panel.get_by_role("button", name="Send").click()
    warning = widget.locator("li.msg-warning")
    expect(warning).to_contain_text("Please remain polite and respectful!")
    # Warnings are labelled from the message itself (a system message, "Moderation"), not from whoever is the expert now.
    expect(warning.locator(".msg-author")).to_have_text("Warning from Moderation")
    expect(widget.locator("li[data-seq]")).to_have_count(5)
    seqs = widget.locator("li[data-seq]").evaluate_all("nodes => nodes.map(n => Number(n.dataset.seq))")
    assert seqs == [1, 2, 3, 4, 5]

    screenshot(visitor, "widget")
    screenshot(expert, "dashboard", full_page=True)

    # The visitor ends it, rates it, and the expert sees the rating.
    widget.get_by_role("button", name="End the conversation").click()
    expect(widget.get_by_role("heading", name="The conversation has ended")).to_be_visible()
    widget.get_by_label("4").check()
    widget.get_by_label("Comment").fill("Very helpful")
    widget.get_by_role("button", name="Send my rating").click()
    expect(widget.locator("#rate-done")).to_contain_text("4 out of 5")
    expect(panel.locator(".conv-status")).to_contain_text("rated 4/5")
    assert not visitor.errors and not expert.errors

    # The ended tab offers to share it with the community, as a draft without the visitor's details.
    panel.get_by_role("link", name="Share this experience").click()
    expect(expert.get_by_role("heading", name="Share this experience")).to_be_visible()
    draft = expert.get_by_label("Post")
    expect(draft).to_have_value(re.compile(r"> Visitor: Which shoe for muddy trails\?"))
    expect(draft).to_have_value(re.compile(r"> Me: Hi the visitor! Lugs of 5 mm"))
    assert "Sam" not in draft.input_value()


def test_hostile_text_shows_as_text_and_runs_nothing(live_server_url, new_page):
    expert, visitor, widget, panel = start_conversation(new_page, live_server_url)

    widget.get_by_label("Your message").fill(HOSTILE)
    widget.get_by_role("button", name="Send").click()
    expert_says(panel, HOSTILE + " <b>bold</b>")

    for side in (widget, panel):
        visitor_line = side.locator("li.msg-visitor .msg-text", has_text="onerror")
        expect(visitor_line).to_have_text(HOSTILE)
        expert_line = side.locator("li.msg-expert .msg-text", has_text="bold")
        expect(expert_line).to_have_text(HOSTILE + " <b>bold</b>")
        assert side.locator("li.msg img, li.msg b").count() == 0
    # The expert's queue preview of a new hostile question is text too.
    other = new_page()
    other_widget = open_widget(other, live_server_url)
    ask(other_widget, HOSTILE, nickname="<i>Eve</i>")
    preview = expert.locator(".queue-item", has_text="Eve")
    expect(preview.locator(".queue-preview")).to_have_text(HOSTILE)
    expect(preview.locator("strong")).to_have_text("<i>Eve</i>")
    assert visitor.dialogs == [] and expert.dialogs == [] and other.dialogs == []
    assert not visitor.errors and not expert.errors


def test_visitor_reloads_mid_conversation_and_keeps_everything(live_server_url, new_page):
    expert, visitor, widget, panel = start_conversation(new_page, live_server_url)
    expert_says(panel, "Welcome back any time.")
    expect(widget.locator("li.msg-expert")).to_have_count(1)

    visitor.reload()
    # The bubble was open: it opens again, reconnects with the stored token and shows it all.
    widget = visitor.frame_locator("iframe[title='Chat with the community']")
    expect(widget.locator("#connection")).to_have_text("Connected")
    expect(widget.locator("li[data-seq]")).to_have_count(2)
    expect(widget.locator("li.msg-expert")).to_contain_text("Welcome back any time.")
    expect(widget.locator("#expert-name")).to_have_text("Alice")

    # The conversation goes on after the reload, on both sides, with no duplicate.
    widget.get_by_label("Your message").fill("Still here!")
    widget.get_by_role("button", name="Send").click()
    expect(panel.locator("li.msg-visitor", has_text="Still here!")).to_have_count(1)
    expect(widget.locator("li.msg-visitor", has_text="Still here!")).to_have_count(1)

    # A second tab of the same visitor sees the same conversation.
    second = visitor.context.new_page()
    second.goto(live_server_url + "/demo/")
    second_widget = second.frame_locator("iframe[title='Chat with the community']")
    expect(second_widget.locator("li[data-seq]")).to_have_count(3)


def test_messages_typed_offline_are_sent_on_reconnect(live_server_url, new_page):
    visitor_context_sockets = []
    network = {"up": True}

    def route(ws):
        # A proxy in front of the visitor socket that the test can cut.
        if not network["up"]:
            ws.close()
            return
        ws.connect_to_server()
        visitor_context_sockets.append(ws)

    expert = new_page()
    sign_in(expert, live_server_url)
    visitor = new_page()
    visitor.context.route_web_socket(re.compile(r"/ws/v1/visitor/"), route)
    widget = open_widget(visitor, live_server_url)
    ask(widget, "Which shoe for muddy trails?")
    panel = claim(expert)

    network["up"] = False
    visitor_context_sockets[-1].close()
    expect(widget.locator("#connection")).to_contain_text("Reconnecting")
    widget.get_by_label("Your message").fill("Typed in a tunnel")
    widget.get_by_role("button", name="Send").click()
    expect(widget.locator("li.msg-visitor:not([data-seq]) .msg-status")).to_have_text("Waiting for the connection…")
    network["up"] = True
    expect(panel.locator("li.msg-visitor", has_text="Typed in a tunnel")).to_have_count(1, timeout=15_000)
    expect(widget.locator("li.msg-visitor[data-seq='2']")).to_contain_text("Typed in a tunnel")
    expect(widget.locator("li.msg-visitor", has_text="Typed in a tunnel")).to_have_count(1)


def test_expert_confirms_a_warning_and_the_visitor_sees_it_from_moderation(live_server_url, new_page):
    expert, visitor, widget, panel = start_conversation(new_page, live_server_url)
    # A warning cannot be taken back: the button asks first, showing the words it will post.
    panel.get_by_role("button", name="Warn…").click()
    dialog = expert.get_by_role("dialog", name="Post a warning?")
    expect(dialog.get_by_label("Warning")).to_have_value(re.compile("Please remain polite and respectful!"))
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    panel.get_by_role("button", name="Warn…").click()
    dialog.get_by_role("button", name="Post the warning").click()
    warning = widget.locator("li.msg-warning")
    expect(warning).to_contain_text("polite and respectful")
    expect(warning.locator(".msg-author")).to_have_text("Warning from Moderation")
    expect(panel.locator("li.msg-warning")).to_have_count(1)  # the cancelled one was never posted
    expect(warning).to_have_count(1)


def test_expert_blocks_and_the_visitor_is_shut_out(live_server_url, new_page):
    expert, visitor, widget, panel = start_conversation(new_page, live_server_url)
    panel.get_by_role("button", name="Block visitor…").click()
    dialog = expert.get_by_role("dialog", name="Block this visitor?")
    dialog.get_by_label("Reason").fill("Insults after a warning")
    dialog.get_by_label("For how long").select_option("24")
    dialog.get_by_role("button", name="Block the visitor").click()
    expect(expert.locator("#toast")).to_contain_text("blocked")
    expect(widget.get_by_role("heading", name="You can no longer use this chat")).to_be_visible()
    expect(widget.locator("#connection")).to_have_text("Disconnected")
    expect(panel.locator(".conv-status")).to_contain_text("Ended by the moderator")


def moderation_history():
    """A few weeks of moderation for the overview to show: blocks, reports and an open alert."""
    from datetime import timedelta

    from django.utils import timezone

    from experts import services as expert_services
    from experts.models import ExpertProfile
    from moderation import services as moderation
    from moderation.models import Block, ReportTicket
    from visitors import services as visitor_services
    from visitors.models import Brand, Visitor

    brand = Brand.objects.get(slug="acme")
    ExpertProfile.objects.filter(user__username="alice").update(capacity=100)
    alice = ExpertProfile.objects.get(user__username="alice")
    for n, days_ago in enumerate([1, 3, 3, 8, 12, 20, 26]):
        visitor = Visitor.objects.create(brand=brand, token_hash=f"history-{n}", nickname=f"Visitor {n}")
        conversation = visitor_services.start_conversation(visitor=visitor, text="Hello?", client_id=f"h{n}")
        expert_services.claim_conversation(expert=alice, conversation_id=conversation.pk)
        moderation.file_report(brand=brand, category="disrespectful", description="Insults", visitor=visitor, conversation=conversation)
        if n == 0:
            moderation.alert_managers(expert=alice, conversation_id=conversation.pk, note="Threats in the last message")
        if n % 2 == 0:
            moderation.block_visitor(expert=alice, conversation_id=conversation.pk, reason="Insults after a warning", duration_hours=24 * 30)
        else:
            visitor_services.end_conversation(conversation_id=conversation.pk, ended_by="expert")
        then = timezone.now() - timedelta(days=days_ago)
        Block.objects.filter(visitor=visitor).update(created_at=then)
        ReportTicket.objects.filter(visitor=visitor).update(created_at=then)


def test_admin_overview_screenshot(live_server_url, new_page, screenshot):
    from tests.browser.test_console import manager_page

    moderation_history()
    page = manager_page(new_page, live_server_url)
    page.get_by_role("link", name="Moderation overview").click()
    expect(page.get_by_role("heading", name="Moderation overview")).to_be_visible()
    expect(page.get_by_role("img", name="Blocks per day over the last 30 days")).to_be_visible()
    tracked = SCREENSHOTS / "admin.png"
    before = tracked.stat().st_mtime_ns
    screenshot(page, "admin", full_page=True)
    # `make test` leaves the tracked screenshots alone; `make screenshots` (SCREENSHOTS=1) rewrites them.
    assert (tracked.stat().st_mtime_ns != before) == (os.environ.get("SCREENSHOTS") == "1")


def test_widget_fits_a_phone(live_server_url, new_page):
    page = new_page(viewport={"width": 375, "height": 700})
    widget = open_widget(page, live_server_url)
    box = page.locator(WIDGET_FRAME).bounding_box()
    assert (box["width"], box["height"]) == (375, 700)
    # Full screen, the bubble steps aside: it would cover Send and "Report a problem".
    expect(page.locator(LAUNCHER)).to_be_hidden()
    expect(widget.get_by_role("button", name="Ask the community")).to_be_in_viewport()
    ask(widget, "Do the Ridgeline run small?")

    # Real clicks (no force): they fail if anything covers the buttons.
    widget.get_by_label("Your message").fill("I usually wear a 42.")
    widget.get_by_role("button", name="Send").click()
    expect(widget.locator("li.msg-visitor[data-seq='2']")).to_contain_text("I usually wear a 42.")
    expect(widget.locator("li.msg-visitor[data-seq='2'] .msg-status")).to_have_text("Sent")
    widget.get_by_role("button", name="Report a problem").click()
    expect(widget.get_by_role("heading", name="Report a problem")).to_be_visible()
    widget.get_by_role("button", name="Back").click()

    # The widget's own close button brings the page and the bubble back.
    widget.get_by_role("button", name="Close the chat").click()
    expect(page.locator(WIDGET_FRAME)).to_be_hidden()
    expect(page.locator(LAUNCHER)).to_be_visible()
    expect(page.locator(LAUNCHER)).to_be_focused()


def test_a_new_message_while_the_widget_is_closed_shows_on_the_bubble_and_the_title(live_server_url, new_page):
    expert, visitor, widget, panel = start_conversation(new_page, live_server_url)
    title = visitor.title()
    widget.get_by_role("button", name="Close the chat").click()
    launcher = visitor.locator("button.chat-widget-launcher")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expert_says(panel, "Are you still there?")
    expect(launcher).to_have_attribute("aria-label", "Open the community chat, 1 new message")
    expect(visitor.locator(".chat-widget-badge")).to_have_text("1")
    expect(visitor).to_have_title("(1) " + title)
    # The host page changes its own title meanwhile: the count is taken off that one, not the old one.
    visitor.evaluate("document.title = 'Your cart (2 items)'")
    launcher.click()  # reading it clears both
    expect(visitor.locator(".chat-widget-badge")).to_be_hidden()
    expect(visitor).to_have_title("Your cart (2 items)")
    expect(widget.locator("li.msg-expert", has_text="Are you still there?")).to_be_visible()


def test_a_question_asked_while_nobody_is_online_waits_with_its_topic_and_the_keyboard_works(live_server_url, new_page):
    visitor = new_page()
    visitor.goto(live_server_url + "/demo/")
    # Keyboard only: the launcher comes after the page's own controls, Enter opens it.
    visitor.get_by_role("button", name="Add to cart").last.focus()
    visitor.keyboard.press("Tab")
    launcher = visitor.locator(LAUNCHER)
    expect(launcher).to_be_focused()
    visitor.keyboard.press("Enter")
    widget = visitor.frame_locator(WIDGET_FRAME)
    expect(widget.locator("#connection")).to_have_text("Connected")
    expect(widget.get_by_label("Your question")).to_be_focused()

    expect(widget.locator("#experts-online")).to_have_text("0 experts online")
    expect(widget.locator("#nobody-online")).to_have_text(re.compile("No expert is online right now"))
    widget.get_by_label("Topic").select_option(label="Sizing and fit")
    visitor.keyboard.type("Do the Ridgeline run small?")
    widget.get_by_label("Your nickname").fill("Kim")
    widget.get_by_role("button", name="Ask the community").press("Enter")
    expect(widget.locator("li.msg-visitor[data-seq='1']")).to_contain_text("run small")
    expect(widget.locator("#waiting-line")).to_be_visible()
    # The message box has an accessible name, and has the focus.
    expect(widget.get_by_role("textbox", name="Your message")).to_be_focused()
    visitor.keyboard.press("Escape")
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")

    # The next expert to come online finds it, with its topic's name.
    expert = new_page()
    sign_in(expert, live_server_url)
    item = expert.locator(".queue-item", has_text="Kim")
    expect(item).to_contain_text("Do the Ridgeline run small?")
    expect(item.locator(".queue-topic")).to_have_text(" · Sizing and fit")
    panel = claim(expert, "Kim")
    expect(panel.locator(".conv-topic")).to_have_text("· Sizing and fit")


def test_the_widget_says_when_it_is_connecting_or_offline(live_server_url, new_page):
    sockets = []
    network = {"answer": False}

    def route(ws):
        # First a server that accepts the socket and never answers; then the real one.
        sockets.append(ws)
        if network["answer"]:
            ws.connect_to_server()

    visitor = new_page()
    visitor.context.route_web_socket(re.compile(r"/ws/v1/visitor/"), route)
    visitor.goto(live_server_url + "/demo/")
    visitor.get_by_role("button", name="Open the community chat").click()
    widget = visitor.frame_locator(WIDGET_FRAME)
    expect(widget.locator("#connection")).to_have_text("Connecting…")
    network["answer"] = True
    sockets[-1].close()
    expect(widget.locator("#connection")).to_have_text("Connected", timeout=15_000)

    visitor.context.set_offline(True)
    expect(widget.locator("#connection")).to_have_text("Offline: your messages will be sent when you are back")
    widget.get_by_label("Your question").fill("Sent once I am back")
    widget.get_by_role("button", name="Ask the community").click()
    expect(widget.locator("li.msg-visitor .msg-status")).to_have_text("Waiting for the connection…")
    visitor.context.set_offline(False)
    expect(widget.locator("#connection")).to_have_text("Connected")
    expect(widget.locator("li.msg-visitor[data-seq='1']")).to_contain_text("Sent once I am back")


def test_after_the_end_the_visitor_reports_a_problem_and_asks_another_expert(live_server_url, new_page):
    from moderation.models import ReportTicket

    expert, visitor, widget, panel = start_conversation(new_page, live_server_url)
    bob = new_page()
    sign_in(bob, live_server_url, "bob")
    widget.get_by_role("button", name="End the conversation").click()
    after = widget.locator("#after-panel")
    expect(after.get_by_role("heading", name="The conversation has ended")).to_be_visible()

    widget.get_by_role("button", name="Report a problem").click()  # only the after panel offers it now
    widget.get_by_label("What happened?").select_option("unhelpful")
    widget.get_by_label("Tell us more").fill("The answer did not fit my question.")
    widget.get_by_role("button", name="Send the report").click()
    expect(widget.locator("#report-done")).to_contain_text("Your report was filed with reference")
    reference = ReportTicket.objects.get().reference
    expect(widget.locator("#report-done")).to_contain_text(reference)
    widget.get_by_role("button", name="Back").click()

    after.get_by_role("button", name="Talk to another expert").click()
    expect(widget.locator("#waiting-line")).to_be_visible()
    # Another expert is offered the same question; Alice, who had it, is not.
    queued = bob.locator(".queue-item", has_text="Sam")
    expect(queued).to_contain_text("Which shoe for muddy trails?")
    expect(expert.locator(".queue-item")).to_have_count(0)
    claim(bob)
    expect(widget.locator("#expert-name")).to_have_text("Bob")


def test_an_expert_who_is_away_is_offered_nothing_until_back_online(live_server_url, new_page):
    expert = new_page()
    sign_in(expert, live_server_url)
    expert.get_by_label("Your status").select_option("away")
    expect(expert.locator("#away-note")).to_contain_text("no new question is offered to you")

    visitor = new_page()
    widget = open_widget(visitor, live_server_url)
    expect(widget.locator("#experts-online")).to_have_text("0 experts online")
    ask(widget, "Is anyone there?", nickname="Kim")
    expect(expert.locator("#queue-count")).to_have_text("0")
    expect(expert.locator(".queue-item")).to_have_count(0)

    expert.get_by_label("Your status").select_option("online")
    expect(expert.locator("#away-note")).to_be_hidden()
    expect(expert.locator(".queue-item", has_text="Kim")).to_contain_text("Is anyone there?")
    expect(expert.locator("#queue-count")).to_have_text("1")


def test_an_expert_holds_two_conversations_with_unread_counts_typing_and_canned_replies(live_server_url, new_page):
    expert = new_page()
    sign_in(expert, live_server_url)
    sam = open_widget(new_page(), live_server_url)
    ask(sam, "Which shoe for muddy trails?", nickname="Sam")
    claim(expert, "Sam")
    kim = open_widget(new_page(), live_server_url)
    ask(kim, "Do the Ridgeline run small?", nickname="Kim")
    claim(expert, "Kim")

    sam_tab = expert.get_by_role("tab", name=re.compile("Sam"))
    kim_tab = expert.get_by_role("tab", name=re.compile("Kim"))
    expect(sam_tab).to_have_attribute("aria-selected", "true")  # the first one stays in front
    kim.get_by_label("Your message").fill("Hello?")
    kim.get_by_role("button", name="Send").click()
    kim.get_by_label("Your message").fill("Anyone?")
    kim.get_by_role("button", name="Send").click()
    expect(kim_tab.locator(".tab-unread")).to_have_text("2")
    expect(sam_tab.locator(".tab-unread")).to_be_hidden()

    # Arrow keys move between the tabs; showing Kim's clears its count.
    sam_tab.focus()
    expert.keyboard.press("ArrowRight")
    expect(kim_tab).to_have_attribute("aria-selected", "true")
    expect(kim_tab).to_be_focused()
    expect(kim_tab.locator(".tab-unread")).to_be_hidden()
    panel = expert.locator(".conv-panel:not([hidden])")
    expect(panel.locator("li.msg-visitor")).to_have_count(3)

    # The visitor's typing shows to the expert.
    kim.get_by_label("Your message").press_sequentially("Also")
    expect(panel.locator(".typing")).to_have_text("Kim is typing…")

    # A canned reply, the politeness reminder first, fills the box; it is sent only with Send.
    canned = panel.get_by_label("Canned reply")
    expect(canned.locator("option").nth(1)).to_have_text(re.compile(r"^Politeness reminder: .*polite and respectful"))
    canned.select_option(canned.locator("option", has_text=re.compile(r"^Hello: ")).get_attribute("value"))
    box = panel.get_by_label("Your message")
    # The placeholders are filled: the visitor's nickname and the expert's name.
    expect(box).to_have_value(re.compile(r"^Hello Kim! I'm Alice, a member of the community"))
    expect(box).to_be_focused()
    expect(panel.locator("li.msg-expert")).to_have_count(0)
    panel.get_by_role("button", name="Send").click()
    expect(kim.locator("li.msg-expert")).to_contain_text("Hello Kim! I'm Alice, a member of the community")
    expect(sam.locator("li.msg-expert")).to_have_count(0)


def test_the_dashboard_fits_a_phone_with_a_conversation_open(live_server_url, new_page):
    expert = new_page(viewport={"width": 375, "height": 667})
    sign_in(expert, live_server_url)
    widget = open_widget(new_page(), live_server_url)
    ask(widget, "Which shoe for muddy trails?")
    panel = claim(expert)
    expect(panel.get_by_label("Canned reply")).to_be_visible()
    assert expert.evaluate("document.documentElement.scrollWidth") <= 375
    box = panel.get_by_label("Your message")
    box.click()  # a real click: nothing covers it, nothing is off-screen to the right
    box.fill("Lugs of 5 mm or more.")
    panel.get_by_role("button", name="Send").click()
    expect(widget.locator("li.msg-expert")).to_contain_text("Lugs of 5 mm or more.")
    assert expert.evaluate("document.documentElement.scrollWidth") <= 375


def host_page(page, base, path, body, title="A brand's page"):
    """Serve a made-up host page from the server's origin (the widget allows 'self' to frame it)."""
    html = f"<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    page.route(base + path, lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(base + path)


def test_the_loader_shows_one_bubble_when_included_twice_and_none_for_an_unknown_brand(live_server_url, new_page):
    loader = f'<script src="{live_server_url}/static/widget/loader.js" data-brand="%s" async></script>'
    page = new_page()
    host_page(page, live_server_url, "/host-twice/", loader % "acme" + loader % "acme")
    expect(page.locator("script[data-chat-widget='ready']")).to_have_count(1)
    expect(page.locator(LAUNCHER)).to_have_count(1)
    expect(page.locator("iframe")).to_have_count(1)
    page.locator(LAUNCHER).click()
    expect(page.frame_locator(WIDGET_FRAME).locator("#connection")).to_have_text("Connected")

    # A brand the server does not know: its widget page is a 404, so no bubble that would open it.
    page = new_page()
    host_page(page, live_server_url, "/host-unknown/", loader % "no-such-brand")
    expect(page.locator("script[data-chat-widget='unavailable']")).to_have_count(1, timeout=15_000)
    expect(page.locator(LAUNCHER)).to_have_count(0)
    expect(page.locator("iframe")).to_have_count(0)
    expect(page).to_have_title("A brand's page")
    assert page.errors == []


def test_reconnect_delays_grow_are_capped_and_jittered(new_page):
    page = new_page()
    page.set_content("<!doctype html><title>backoff</title>")
    page.add_script_tag(path=str(COMMON_JS))
    delays = page.evaluate("""() => {
        const attempts = [];
        for (let n = 0; n < 12; n++) {
            const samples = [];
            for (let i = 0; i < 40; i++) samples.push(window.ChatCommon.backoffDelay(n));
            attempts.push(samples);
        }
        return attempts;
    }""")
    lowest = [min(samples) for samples in delays]
    highest = [max(samples) for samples in delays]
    # Exponential from 0.5 s: each attempt waits between half and all of its step.
    for n, (low, high) in enumerate(zip(lowest, highest, strict=True)):
        step = min(30_000, 500 * 2**n)
        assert step / 2 - 1 <= low <= high <= step, (n, low, high)
    assert lowest[5] > highest[1]  # they grow
    assert max(highest) <= 30_000 and highest[-1] > 15_000  # up to a cap of 30 s
    assert all(len(set(samples)) > 1 for samples in delays)  # jitter: not every client at the same instant


def test_the_widget_counts_experts_live_and_the_expert_sees_where_the_question_was_asked(live_server_url, new_page):
    visitor = new_page()
    visitor.goto(live_server_url + "/demo/?order=4711#reviews")  # the query and fragment never leave the page
    visitor.get_by_role("button", name=re.compile("Open the community chat")).click()
    widget = visitor.frame_locator(WIDGET_FRAME)
    expect(widget.locator("#connection")).to_have_text("Connected")
    expect(widget.locator("#experts-online")).to_have_text("0 experts online")
    expect(widget.locator("#nobody-online")).to_be_visible()
    expert = new_page()
    sign_in(expert, live_server_url)  # the open widget hears of it, no reload
    expect(widget.locator("#experts-online")).to_have_text("1 expert online")
    expect(widget.locator("#nobody-online")).to_be_hidden()
    expert.get_by_label("Your status").select_option("away")
    expect(widget.locator("#experts-online")).to_have_text("0 experts online")
    expert.get_by_label("Your status").select_option("online")
    expect(widget.locator("#experts-online")).to_have_text("1 expert online")

    title = visitor.evaluate("document.title")
    ask(widget, "Does this tent fit two?", nickname="Lou")
    where = f"Asked on \u201c{title}\u201d (/demo/)"
    item = expert.locator(".queue-item", has_text="Lou")
    expect(item.locator(".queue-page")).to_have_text(where)
    panel = claim(expert, nickname="Lou")
    expect(panel.locator(".conv-page")).to_have_text(where)
    assert "4711" not in expert.content()
