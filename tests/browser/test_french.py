"""The widget in French, in a real browser whose preferred language is French (brand languages: en fr).

The expert's browser is English: the same conversation, its system messages included, reads in
each side's language (docs/faces.md, "Languages").
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_faces import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FRENCH_MONTH = r"(janv\.|févr\.|mars|avr\.|mai|juin|juil\.|août|sept\.|oct\.|nov\.|déc\.)"


def test_a_french_visitor_walks_the_widget_in_french(live_server_url, browser, new_page, screenshot):
    from moderation import services as moderation_services
    from experts.models import ExpertProfile
    from visitors.models import Brand, Conversation

    assert Brand.objects.get(slug="acme").language_list == ["en", "fr"]  # the demo brand (seed_demo)
    base = live_server_url
    expert = new_page()
    sign_in(expert, base)  # an English browser

    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    visitor = context.new_page()
    errors = []
    visitor.on("pageerror", lambda error: errors.append(str(error)))
    try:
        visitor.goto(base + "/demo/")
        visitor.get_by_role("button", name=re.compile("Open the community chat")).click()
        widget = visitor.frame_locator("iframe[title='Chat with the community']")

        # The greeting and the page, in French.
        expect(widget.locator("#connection")).to_have_text("Connecté")
        expect(widget.locator("#experts-online")).to_have_text("1 expert en ligne")
        expect(widget.locator("#independent")).to_contain_text("pas des employés de Acme Outdoor")
        expect(widget.locator("#welcome-text")).to_contain_text("Posez votre question")

        # Sending.
        widget.get_by_label("Votre pseudo").fill("Camille")
        widget.get_by_label("Votre question").fill("Ma semelle est usée, que faire ?")
        widget.get_by_role("button", name="Demander à la communauté").click()
        mine = widget.locator("li.msg-visitor[data-seq='1']")
        expect(mine).to_contain_text("Ma semelle est usée")
        expect(mine.locator(".msg-author")).to_have_text("Vous")
        expect(mine.locator(".msg-status")).to_have_text("Envoyé")
        expect(mine.locator("time")).to_have_attribute("title", re.compile(FRENCH_MONTH + r" \d{4}"))

        item = expert.locator(".queue-item", has_text="Camille")
        item.get_by_role("button", name=re.compile("Claim")).click()
        panel = expert.locator(".conv-panel:not([hidden])")
        expect(widget.locator("#expert-name")).to_have_text("Alice")
        panel.get_by_label("Your message").fill("Bonjour Camille, regardez l'usure du talon.")
        panel.get_by_role("button", name="Send").click()
        expect(widget.locator("li.msg-expert")).to_contain_text("regardez l'usure du talon")

        # A system message, stored once: French in the widget, English on the English dashboard.
        conversation = Conversation.objects.get()
        moderation_services.warn(expert=ExpertProfile.objects.get(user__username="alice"), conversation_id=conversation.pk)
        # Stored from this process (its events stay here): the next message brings it, the seq gap filled.
        panel.get_by_label("Your message").fill("Et le laçage ?")
        panel.get_by_role("button", name="Send").click()
        expect(widget.locator("li.msg-expert", has_text="laçage")).to_be_visible()
        warning = widget.locator("li.msg-warning")
        expect(warning).to_contain_text("Merci de rester poli et respectueux")
        expect(warning.locator(".msg-author")).to_have_text("Avertissement de Modération")
        expect(panel.locator("li.msg-warning")).to_contain_text("Please remain polite and respectful!")
        screenshot(visitor, "widget-fr")

        # The visitor ends it: the after-panel in French, the expert's status in English.
        widget.get_by_role("button", name="Terminer la conversation").click()
        expect(widget.get_by_role("heading", name="La conversation est terminée")).to_be_visible()
        expect(panel.locator(".conv-status")).to_contain_text("Ended by the visitor")
        assert errors == []
    finally:
        context.close()
