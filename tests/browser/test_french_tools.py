"""The experts' tools (canned-reply picker, transfer) in French, for experts whose profile says French."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_faces import ask, open_widget

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def french_sign_in(page, base, username):
    page.goto(base + "/dashboard/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo-pass-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#connection")).to_have_text("Connecté")


def test_a_french_expert_uses_the_picker_and_transfers_in_french(live_server_url, new_page):
    from experts.models import ExpertProfile

    ExpertProfile.objects.filter(user__username__in=["alice", "bob"]).update(language="fr")
    alice = new_page()
    french_sign_in(alice, live_server_url, "alice")
    bob = new_page()
    french_sign_in(bob, live_server_url, "bob")
    widget = open_widget(new_page(), live_server_url)
    ask(widget, "My jacket lost its waterproofing.", nickname="Kim")
    alice.locator(".queue-item", has_text="Kim").get_by_role("button", name=re.compile("Prendre")).click()
    panel = alice.locator(".conv-panel:not([hidden])")

    box = panel.locator("textarea").first
    box.press_sequentially("/zzzz")
    picker = panel.get_by_role("listbox", name="Réponses types")
    expect(picker).to_contain_text("Aucune réponse type ne correspond à «\u00a0zzzz\u00a0»")
    box.fill("")

    panel.get_by_role("button", name="Transférer à un collègue…").click()
    dialog = alice.get_by_role("dialog", name="Transférer à un collègue")
    colleague = dialog.get_by_label("Collègue en ligne")
    expect(colleague.locator("option").first).to_have_text(re.compile(r"^Bob — .* \(3 places libres\)$"))
    dialog.get_by_label(re.compile("Note pour votre collègue")).fill("Bob imperméabilise.")
    dialog.get_by_role("button", name="Transférer", exact=True).click()

    bob_panel = bob.locator(".conv-panel:not([hidden])")
    expect(bob_panel.locator(".transfer-note")).to_have_text(
        "Alice vous a transféré cette conversation\u00a0: «\u00a0Bob imperméabilise.\u00a0»")
    assert alice.errors == [] and bob.errors == []
