"""Languages: the widget in the browser's language among the brand's, system messages and error details in each
reader's language, the experts' profile language, the reader's time zone, visitors' e-mails (docs/faces.md)."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from chatplatform.i18n import negotiate, render_system
from experts import services as expert_services
from tests.support import BRAND_ORIGIN, OWN_HOST, client_id
from visitors import followups
from visitors import services as visitor_services
from visitors.models import Brand, Conversation, Message, Visitor
from visitors.tasks import inactive_notice, inactive_system

REMINDER_EN = "I'm a member of the community. I'm here to help and to share my knowledge. Please remain polite and respectful!"
REMINDER_FR = ("Je suis membre de la communauté. Je suis là pour vous aider et partager mes connaissances. "
               "Merci de rester poli et respectueux\u00a0!")


def test_negotiation_takes_the_preferred_language_among_the_choices():
    assert negotiate("fr-FR,fr;q=0.9,en;q=0.8", ["en", "fr"], "en") == "fr"
    assert negotiate("de-DE,de;q=0.9,fr;q=0.5,en;q=0.7", ["en", "fr"], "fr") == "en"  # by q, not by order
    assert negotiate("de-DE", ["en", "fr"], "fr") == "fr"  # none offered: the brand's default
    assert negotiate("fr-CA", ["en"], "en") == "en"
    assert negotiate("", ["en", "fr"], "fr") == "fr"
    assert negotiate("fr;q=abc, en;q=0", ["en", "fr"], "fr") == "fr"  # a malformed q is skipped, q=0 refuses
    assert negotiate("x" * 5000, ["en", "fr"], "en") == "en"


def test_system_messages_render_in_the_asked_language_with_plurals():
    assert render_system("conversation.inactive", {"minutes": 30}, "en") == inactive_notice(30)
    assert render_system("conversation.inactive", {"minutes": 1}, "fr") == (
        "Cette conversation s’est terminée après 1 minute sans message.")
    assert render_system("conversation.inactive", {"minutes": 30}, "fr") == (
        "Cette conversation s’est terminée après 30 minutes sans message.")
    assert render_system("moderation.reminder", {}, "fr") == REMINDER_FR
    assert render_system("no.such.code", {}, "fr") is None


@pytest.fixture
def bilingual(brand):
    brand.languages, brand.default_language = "en fr", "en"
    brand.save(update_fields=["languages", "default_language"])
    return brand


@pytest.mark.django_db
def test_widget_speaks_the_browsers_language_among_the_brands(client, bilingual):
    response = client.get("/widget/acme/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9,en;q=0.8")
    page = response.content.decode()
    assert '<html lang="fr">' in page
    assert "Posez votre question\u00a0: un expert indépendant" in page  # the default welcome, translated
    assert "Demander à la communauté" in page and "Ask the community" not in page
    assert "/jsi18n/fr/" in page
    assert "Accept-Language" in response["Vary"]

    english = client.get("/widget/acme/", HTTP_ACCEPT_LANGUAGE="de-DE,en;q=0.5").content.decode()
    assert '<html lang="en">' in english and "Ask the community" in english


@pytest.mark.django_db
def test_widget_stays_in_the_brands_languages(client, brand):
    brand.languages, brand.default_language = "en", "en"
    brand.welcome_message = "Bienvenue chez Acme, posez votre question."  # the brand's own words: never translated
    brand.save()
    page = client.get("/widget/acme/", HTTP_ACCEPT_LANGUAGE="fr-FR").content.decode()
    assert '<html lang="en">' in page and "Ask the community" in page
    assert "Bienvenue chez Acme, posez votre question." in page


@pytest.mark.django_db
def test_brand_languages_are_checked_in_the_admin_form(brand):
    from django.core.exceptions import ValidationError

    brand.languages, brand.default_language = "en de", "en"
    with pytest.raises(ValidationError) as refused:
        brand.full_clean()
    assert "languages" in refused.value.message_dict
    brand.languages, brand.default_language = "en", "fr"
    with pytest.raises(ValidationError) as refused:
        brand.full_clean()
    assert "default_language" in refused.value.message_dict


@pytest.mark.django_db
def test_the_scripts_catalogue_is_served_per_language(client):
    french = client.get("/jsi18n/fr/")
    assert french.status_code == 200 and french["Content-Type"].startswith("text/javascript")
    assert "Reconnexion dans %(seconds)s s\\u2026" in french.content.decode()
    unknown = client.get("/jsi18n/xx/")  # an unknown language: the English (the sources), not an error
    assert unknown.status_code == 200 and "Reconnexion" not in unknown.content.decode()


async def _french_visitor(connect):
    socket, connected, code = await connect.raw(
        "/ws/v1/visitor/acme/?lang=fr", [(b"host", OWN_HOST), (b"origin", BRAND_ORIGIN)])
    assert connected, code
    await socket.send({"type": "hello", "token": None, "last_seq": 0})
    socket.welcome = await socket.recv_type("welcome")
    return socket


@pytest.mark.django_db(transaction=True)
async def test_one_stored_warning_reaches_an_english_expert_in_english_and_a_french_visitor_in_french(
        connect, bilingual, alice):
    visitor = await _french_visitor(connect)
    await visitor.send({"type": "conversation.start", "text": "Ma semelle est usée", "client_id": client_id()})
    conversation_id = (await visitor.recv_type("conversation"))["conversation"]["id"]
    assert (await visitor.recv_type("message"))["message"]["seq"] == 1
    expert = await connect.expert(alice)  # no profile language, no Accept-Language: English
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")

    await expert.send({"type": "moderation.warn", "conversation": conversation_id})
    to_visitor = (await visitor.recv_type("message"))["message"]
    to_expert = (await expert.recv_type("message"))["message"]
    assert to_visitor["seq"] == to_expert["seq"]
    assert to_visitor["text"] == REMINDER_FR and to_visitor["author_name"] == "Modération"
    assert to_expert["text"] == REMINDER_EN and to_expert["author_name"] == "Moderation"
    assert to_visitor["system"] == to_expert["system"] == {"code": "moderation.reminder", "params": {}}
    stored = await Message.objects.aget(conversation_id=conversation_id, seq=to_visitor["seq"])
    assert stored.text == REMINDER_EN and stored.system == {"code": "moderation.reminder", "params": {}}

    # An expert's own words are sent as written to both.
    await expert.send({"type": "moderation.warn", "conversation": conversation_id, "text": "Restez courtois."})
    assert (await visitor.recv_type("message"))["message"]["text"] == "Restez courtois."

    # The history a reconnecting visitor reads is rendered for it too.
    again, connected, _ = await connect.raw("/ws/v1/visitor/acme/?lang=fr", [(b"host", OWN_HOST), (b"origin", BRAND_ORIGIN)])
    assert connected
    await again.send({"type": "hello", "token": visitor.welcome["token"], "last_seq": 0})
    history = (await again.recv_type("welcome"))["messages"]
    assert [m["text"] for m in history if m["author"] == "system"] == [REMINDER_FR, "Restez courtois."]


@pytest.mark.django_db(transaction=True)
async def test_error_details_reach_a_french_visitor_in_french_with_the_code_unchanged(connect, bilingual):
    visitor = await _french_visitor(connect)
    error = await visitor.error({"type": "conversation.end"})
    assert error["code"] == "no_conversation"
    assert error["detail"] == "Vous n’avez aucune conversation en cours."


@pytest.mark.django_db(transaction=True)
async def test_a_visitor_socket_asking_a_language_the_brand_lacks_gets_the_brands_default(connect, brand):
    visitor = await _french_visitor(connect)  # brand languages: "en" only
    error = await visitor.error({"type": "conversation.end"})
    assert error["detail"] == "You have no open conversation."


@pytest.mark.django_db
def test_a_sweeps_notice_is_stored_with_its_code_and_shown_per_reader(client, bilingual, alice):
    visitor = Visitor.objects.create(brand=bilingual, token_hash="t-1", nickname="Sam")
    conversation = visitor_services.start_conversation(visitor=visitor, text="Bonjour", client_id="c1")
    expert_services.claim_conversation(expert=alice, conversation_id=conversation.pk)
    visitor_services.end_by_system(conversation_id=conversation.pk, reason=Conversation.EndReason.INACTIVE,
                                   notice=inactive_notice(30), system=inactive_system(30))
    notice = Message.objects.get(conversation=conversation, author=Message.Author.SYSTEM)
    assert notice.text == "This conversation ended after 30 minutes without messages."
    assert notice.system == {"code": "conversation.inactive", "params": {"minutes": 30}}

    # Alice reads her past conversations in French (her profile says so, her browser English).
    alice.language = "fr"
    alice.save(update_fields=["language"])
    client.force_login(alice.user)
    page = client.get("/dashboard/past/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Cette conversation s’est terminée après 30 minutes sans message." in page
    assert "Conversations passées" in page and "Modération" in page


@pytest.mark.django_db
def test_an_experts_pages_follow_the_browser_unless_the_profile_says(client, alice):
    client.force_login(alice.user)
    assert "Tableau de bord" in client.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="fr-FR").content.decode()
    assert "Waiting questions" in client.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    response = client.post("/dashboard/profile/", {"display_name": "Alice", "bio": "", "avatar_url": "", "language": "fr"},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.language == "fr"
    page = client.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="fr">' in page and "Questions en attente" in page and "/jsi18n/fr/" in page

    refused = client.post("/dashboard/profile/", {"display_name": "Alice", "language": "xx"})
    assert refused.status_code == 200 and refused.context["form"].errors["language"]
    alice.refresh_from_db()
    assert alice.language == "fr"


@pytest.mark.django_db
def test_server_pages_show_times_in_the_readers_zone_and_language(client, brand, alice):
    visitor = Visitor.objects.create(brand=brand, token_hash="t-2", nickname="Sam")
    conversation = visitor_services.start_conversation(visitor=visitor, text="Hello", client_id="c1")
    expert_services.claim_conversation(expert=alice, conversation_id=conversation.pk)
    visitor_services.end_conversation(conversation_id=conversation.pk, ended_by="expert")
    Conversation.objects.filter(pk=conversation.pk).update(
        ended_at=datetime.datetime(2026, 12, 6, 12, 5, tzinfo=datetime.UTC))
    client.force_login(alice.user)

    client.cookies["tz"] = "Europe/Paris"
    assert "6 Déc 2026, 13:05" in client.get("/dashboard/past/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    client.cookies["tz"] = "America/New_York"
    assert "6 Dec 2026, 07:05" in client.get("/dashboard/past/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.cookies["tz"] = "Not/AZone\x7f"  # an unknown zone: UTC, never an error
    response = client.get("/dashboard/past/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and "6 Dec 2026, 12:05" in response.content.decode()
    assert timezone.get_current_timezone_name() == "UTC"


@pytest.mark.django_db
def test_a_visitors_e_mails_are_in_the_widgets_language(bilingual, alice):
    visitor = Visitor.objects.create(brand=bilingual, token_hash="t-3", nickname="Sam")
    visitor.language = "fr"  # what the visitor socket sets
    followups.set_contact(visitor=visitor, email="sam@example.org")
    conversation = visitor_services.start_conversation(visitor=visitor, text="Bonjour", client_id="c1")
    expert_services.claim_conversation(expert=alice, conversation_id=conversation.pk)
    visitor_services.end_by_system(conversation_id=conversation.pk, reason=Conversation.EndReason.INACTIVE,
                                   notice=inactive_notice(30), system=inactive_system(30))
    assert Visitor.objects.get(pk=visitor.pk).language == "fr"

    assert followups.send_transcript(conversation_id=conversation.pk)
    sent = mail.outbox[-1]
    assert sent.subject == "Votre conversation sur Acme Outdoor"
    assert "Cette conversation s’est terminée après 30 minutes sans message." in sent.body
    assert "Se désabonner" in sent.body


@pytest.mark.django_db
def test_an_unknown_visitor_language_falls_back_to_the_brands_default(bilingual):
    Brand.objects.filter(pk=bilingual.pk).update(default_language="fr")
    visitor = Visitor.objects.create(brand=bilingual, token_hash="t-4", email="kim@example.org", language="xx")
    conversation = visitor_services.start_conversation(visitor=visitor, text="Hi", client_id="c1")
    visitor_services.end_conversation(conversation_id=conversation.pk, ended_by="visitor")
    assert followups.send_transcript(conversation_id=conversation.pk)
    assert mail.outbox[-1].subject == "Votre conversation sur Acme Outdoor"
