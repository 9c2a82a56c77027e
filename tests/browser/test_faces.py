"""The three faces in a real browser: a visitor on the demo shop, an expert on the dashboard.

Each test starts daphne on the test database (conftest.live_server_url) and
drives Debian's chromium. Waits are on visible conditions, never on time.
"""

import re

import pytest
from playwright.sync_api import expect


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = "<img src=x onerror=alert(1)>"


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
    expect(warning).to_contain_text("Warning from the moderators")
    expect(widget.locator("li[data-seq]")).to_have_count(5)
    seqs = widget.locator("li[data-seq]").evaluate_all("nodes => nodes.map(n => Number(n.dataset.seq))")
    assert seqs == [1, 2, 3, 4, 5]

    screenshot(visitor, "widget")
    screenshot(expert, "dashboard")

    # The visitor ends it, rates it, and the expert sees the rating.
    widget.get_by_role("button", name="End the conversation").click()
    expect(widget.get_by_role("heading", name="The conversation has ended")).to_be_visible()
    widget.get_by_label("4").check()
    widget.get_by_label("Comment").fill("Very helpful")
    widget.get_by_role("button", name="Send my rating").click()
    expect(widget.locator("#rate-done")).to_contain_text("4 out of 5")
    expect(panel.locator(".conv-status")).to_contain_text("rated 4/5")
    assert not visitor.errors and not expert.errors


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


def test_expert_warns_and_the_visitor_sees_the_warning(live_server_url, new_page):
    expert, visitor, widget, panel = start_conversation(new_page, live_server_url)
    panel.get_by_role("button", name="Warn").click()
    expect(widget.locator("li.msg-warning")).to_contain_text("polite and respectful")
    expect(panel.locator("li.msg-warning")).to_be_visible()


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


def test_admin_overview_screenshot(live_server_url, new_page, screenshot):
    page = new_page()
    page.goto(live_server_url + "/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill("demo-pass-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    page.get_by_role("link", name="Moderation overview").click()
    expect(page.get_by_role("heading", name="Moderation overview")).to_be_visible()
    expect(page.get_by_role("img", name="Blocks per day over the last 30 days")).to_be_visible()
    screenshot(page, "admin")


def test_widget_fits_a_phone(live_server_url, new_page):
    page = new_page(viewport={"width": 375, "height": 700})
    widget = open_widget(page, live_server_url)
    box = page.locator("iframe[title='Chat with the community']").bounding_box()
    assert box["width"] == 375
    expect(widget.get_by_role("button", name="Ask the community")).to_be_in_viewport()


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
    launcher.click()  # reading it clears both
    expect(visitor.locator(".chat-widget-badge")).to_be_hidden()
    expect(visitor).to_have_title(title)
    expect(widget.locator("li.msg-expert", has_text="Are you still there?")).to_be_visible()
