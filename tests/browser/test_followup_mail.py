"""The follow-up e-mail in a real browser: the visitor leaves, the expert answers, the worker mails the answer,
and the e-mail's link resumes the conversation in the widget (Debian's chromium against daphne)."""

import re
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.test_faces import claim, expert_says, open_widget, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_answer_reaches_a_visitor_who_left_and_the_link_resumes_the_conversation(
        live_server_url, new_page, screenshot, settings):
    from visitors.models import Message, Visitor

    settings.CHAT_PUBLIC_URL = live_server_url
    visitor = new_page(viewport={"width": 420, "height": 720})
    widget = open_widget(visitor, live_server_url)
    widget.get_by_label("Your nickname").fill("Sam")
    widget.get_by_label("Your question").fill("Which size for a 30 km hike?")
    widget.get_by_text("Tell me by e-mail when an expert answers").first.click()  # the folded offer opens
    widget.get_by_label("Your e-mail", exact=True).fill("sam@example.test")
    widget.get_by_role("button", name="Ask the community").click()
    expect(widget.locator("#contact-line")).to_have_text("We will e-mail sam@example.test when an expert answers and you are away.")

    expert = new_page()
    sign_in(expert, live_server_url)
    panel = claim(expert)
    visitor.context.close()  # the visitor leaves
    wait_for(lambda: Visitor.objects.filter(email="sam@example.test", away_since__isnull=False).exists())
    expert_says(panel, "Take size 42: the last runs narrow.")
    wait_for(lambda: Message.objects.filter(author="expert").exists())  # stored, not only shown
    expect(panel).not_to_contain_text("sam@example.test")

    Message.objects.filter(author="expert").update(created_at=timezone.now() - timedelta(minutes=3))
    settings.SECRET_KEY = "browser-test-key-not-secret"  # the server's (conftest): it checks the links the worker signs
    call_command("chat_worker", "--once")
    [sent] = mail.outbox
    html = sent.alternatives[0][0]
    email_page = new_page(viewport={"width": 640, "height": 520})
    email_page.set_content(html)
    expect(email_page.locator("blockquote")).to_have_text("Take size 42: the last runs narrow.")
    screenshot(email_page, "followup-email")

    link = re.search(r"(http://\S+/c/[^/\s]+/)", sent.body).group(1)
    resumed = new_page(viewport={"width": 420, "height": 720})
    resumed.goto(link)
    resumed.get_by_role("button", name="Open the conversation").click()
    expect(resumed.locator("li.msg-expert")).to_contain_text("Take size 42: the last runs narrow.")
    expect(resumed.locator("li.msg-visitor").first).to_contain_text("Which size for a 30 km hike?")
    expect(resumed.locator("#connection")).to_have_text("Connected")
    assert resumed.url.endswith("/widget/acme/")  # a reload is the widget, not the link again
    screenshot(resumed, "resumed")

    resumed.get_by_label("Your message").fill("Thanks, ordering now!")
    resumed.get_by_role("button", name="Send").click()
    expect(panel.locator(".msg-visitor").last).to_contain_text("Thanks, ordering now!")

    again = new_page()
    again.goto(link)
    expect(again.get_by_role("heading", name="This link was already used")).to_be_visible()
    expect(again.get_by_role("link", name="Ask a new question")).to_have_attribute("href", "/widget/acme/")
    assert not visitor.errors and not resumed.errors and not expert.errors
