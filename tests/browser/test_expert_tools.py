"""The expert's tools as a person uses them: the "/" picker, transfer to a colleague, the guidance note."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_faces import ask, claim, open_widget, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_typing_a_slash_shows_the_picker_and_inserts_the_reply_with_the_keyboard(live_server_url, new_page):
    expert = new_page()
    sign_in(expert, live_server_url)
    widget = open_widget(new_page(), live_server_url)
    ask(widget, "Do these run small?", nickname="Kim")
    panel = claim(expert, "Kim")
    box = panel.get_by_label("Your message")

    box.press_sequentially("/")
    picker = panel.get_by_role("listbox", name="Canned replies")
    expect(picker).to_be_visible()
    expect(picker.get_by_role("option").first).to_contain_text("Politeness reminder")
    box.press_sequentially("search")  # matches "Keep searching for the right one" by its title
    expect(picker.get_by_role("option")).to_have_count(1)
    expect(picker.get_by_role("option").first).to_contain_text("Keep searching for the right one")
    box.press("Enter")  # inserts; does not send
    expect(picker).to_be_hidden()
    expect(box).to_have_value(re.compile(r"^Sometimes people just don't click .*keep searching for the right one"))
    expect(panel.locator("li.msg-expert")).to_have_count(0)

    # Arrow keys choose among several; placeholders are filled; Escape closes without inserting.
    box.fill("")
    box.press_sequentially("/hel")
    expect(picker.get_by_role("option").first).to_contain_text("Hello")
    box.press("Escape")
    expect(picker).to_be_hidden()
    expect(box).to_have_value("/hel")
    box.fill("")
    box.press_sequentially("/sorry")
    expect(picker.get_by_role("option")).to_have_count(2)
    box.press("ArrowDown")
    expect(picker.get_by_role("option").nth(1)).to_have_attribute("aria-selected", "true")
    box.press("ArrowUp")
    box.press("Enter")
    expect(box).to_have_value(re.compile(r"^I'm sorry another expert was not helpful, Kim\."))
    box.press("Enter")  # now the box is a message: Enter sends it
    expect(widget.locator("li.msg-expert")).to_contain_text("I'm sorry another expert was not helpful, Kim.")


def test_an_expert_adds_a_reply_of_their_own_and_finds_it_with_the_picker(live_server_url, new_page):
    expert = new_page()
    sign_in(expert, live_server_url)
    expert.goto(live_server_url + "/dashboard/replies/")
    new = expert.get_by_role("region", name="New reply")
    new.get_by_label("Title").fill("Lugs")
    new.get_by_role("textbox", name="Reply").fill("For mud, {visitor}, take lugs of 5 mm or more.")
    new.get_by_role("button", name="Add the reply").click()
    expect(expert.locator(".reply-list li")).to_have_count(1)
    expert.goto(live_server_url + "/dashboard/")
    expect(expert.locator("#connection")).to_have_text("Connected")
    widget = open_widget(new_page(), live_server_url)
    ask(widget, "Muddy trails?", nickname="Robin")
    panel = claim(expert, "Robin")
    box = panel.get_by_label("Your message")
    box.press_sequentially("/lugs")
    picker = panel.get_by_role("listbox", name="Canned replies")
    expect(picker.get_by_role("option")).to_have_count(1)
    picker.get_by_role("option").first.click()
    expect(box).to_have_value("For mud, Robin, take lugs of 5 mm or more.")


def test_an_expert_transfers_a_conversation_to_a_colleague_from_the_dashboard(live_server_url, new_page):
    alice = new_page()
    sign_in(alice, live_server_url)
    bob = new_page()
    sign_in(bob, live_server_url, username="bob")
    widget = open_widget(new_page(), live_server_url)
    ask(widget, "My jacket lost its waterproofing.", nickname="Kim")
    panel = claim(alice, "Kim")
    expect(widget.locator("#expert-name")).to_have_text("Alice")

    panel.get_by_role("button", name="Transfer to a colleague…").click()
    dialog = alice.get_by_role("dialog", name="Transfer to a colleague")
    colleague = dialog.get_by_label("Colleague online")
    expect(colleague.locator("option")).to_have_count(1)
    expect(colleague.locator("option").first).to_have_text(re.compile(r"^Bob — Care and repair \(3 places free\)"))
    dialog.get_by_label(re.compile("Note for them")).fill("Bob re-waterproofs gear.")
    dialog.get_by_role("button", name="Transfer").click()

    # The visitor sees Bob join; Bob has the conversation, its history and the note; Alice lost it.
    expect(widget.locator("li.msg-notice, li.msg-system").last).to_contain_text("Bob joined the conversation")
    expect(widget.locator("#expert-name")).to_have_text("Bob")
    bob_panel = bob.locator(".conv-panel:not([hidden])")
    expect(bob.get_by_role("tab", name=re.compile("Kim"))).to_be_visible()
    expect(bob_panel.locator(".transfer-note")).to_have_text("Alice handed you this conversation: “Bob re-waterproofs gear.”")
    expect(bob_panel.locator("li.msg-visitor")).to_contain_text("My jacket lost its waterproofing.")
    expect(panel.locator(".conv-status")).to_have_text("Handed to Bob")
    expect(panel.locator(".composer")).to_be_hidden()
    bob_panel.get_by_label("Your message").fill("Hi Kim, Bob here.")
    bob_panel.get_by_role("button", name="Send").click()
    expect(widget.locator("li.msg-expert").last).to_contain_text("Hi Kim, Bob here.")


def test_a_visitor_who_had_a_bad_experience_shows_the_guidance_and_the_report_options(live_server_url, new_page, screenshot):
    expert = new_page()
    sign_in(expert, live_server_url)
    widget = open_widget(new_page(), live_server_url)
    ask(widget, "Hello, a question about boots.", nickname="Kim")
    panel = claim(expert, "Kim")
    guidance = panel.get_by_role("complementary", name="Guidance")
    expect(guidance).to_be_hidden()
    widget.get_by_label("Your message").fill("Honestly I had a bad experience with the last expert here.")
    widget.get_by_role("button", name="Send").click()
    expect(guidance).to_be_visible()
    expect(guidance).to_contain_text("The visitor says they had a bad experience.")
    expect(guidance).to_contain_text("Ask them to name names.")
    guidance.get_by_role("button", name="Offer the report options").click()
    box = panel.get_by_label("Your message")
    expect(box).to_have_value(re.compile(r'use "Report a problem" at the bottom of this chat window'))
    expect(box).to_be_focused()
    box.fill("")
    box.press_sequentially("/sorry")  # the picker beside the note, for the docs' screenshot
    expect(panel.get_by_role("listbox", name="Canned replies")).to_be_visible()
    screenshot(expert, "expert-tools", full_page=True)
    box.press("Escape")
    guidance.get_by_role("button", name="Hide").click()
    expect(guidance).to_be_hidden()
