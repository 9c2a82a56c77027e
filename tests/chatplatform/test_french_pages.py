"""The pages and answers the day's merges added speak French to a French reader, and stay English otherwise:
analytics, canned replies, the Brand admin's preview, the pictures' upload errors, the tools' script texts."""

import io
import json

import pytest
from django.core.management import call_command
from django.utils import translation

from chatplatform.error_texts import localised
from tests.support import sign_in

pytestmark = pytest.mark.django_db
FR = {"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def manager_client(client, django_user_model, brand):
    call_command("create_community_manager", "carol", password="pw-carol-12345", stdout=io.StringIO())
    sign_in(client, django_user_model.objects.get(username="carol"))
    return client


def test_the_analytics_page_and_its_errors_in_french(manager_client):
    page = manager_client.get("/admin/analytics/", **FR).content.decode()
    for text in ("Toutes mes marques", "Par sujet", "Aucune question sur cette période.", "Heures d’affluence", "Fuseau horaire", ">lundi<"):
        assert text in page, text
    assert "<title>Statistiques |" in page
    english = manager_client.get("/admin/analytics/", **EN).content.decode()
    assert "All my brands" in english and "Busy hours" in english and "Monday" in english
    refused = manager_client.get("/admin/analytics/", {"preset": "custom", "start": "2026-03-05", "end": "2026-03-01"},
                                 **FR).content.decode()
    assert "Le début de la période est postérieur à sa fin." in refused


def test_the_canned_replies_page_and_its_messages_in_french(client, alice):
    sign_in(client, alice.user)
    page = client.get("/dashboard/replies/", **FR).content.decode()
    assert "Mes réponses types" in page and "Ajouter la réponse" in page
    saved = client.post("/dashboard/replies/", {"title": "Laces", "text": "Try a heel lock."}, follow=True, **FR)
    assert "Votre réponse est enregistrée." in saved.content.decode()
    page = saved.content.decode()
    assert ">Réponse</label>" in page  # the reply's text, not the verb "Répondre"
    assert "My canned replies" in client.get("/dashboard/replies/", **EN).content.decode()


def test_the_brand_admin_loads_the_scripts_catalogue_of_the_managers_language(manager_client, brand):
    page = manager_client.get(f"/admin/visitors/brand/{brand.pk}/change/", **FR).content.decode()
    assert page.index('src="/jsi18n/fr/"') < page.index("widget/brand-preview.js")
    assert "Texte blanc sur cette couleur" in page or "Texte sombre sur cette couleur" in page
    english = manager_client.get(f"/admin/visitors/brand/{brand.pk}/change/", **EN).content.decode()
    assert 'src="/jsi18n/en/"' in english and "text on this colour: contrast" in english


def test_an_upload_refusal_is_explained_in_french_with_the_code_unchanged(client):
    response = client.post("/attachments/", {}, **FR)
    body = json.loads(response.content)
    assert response.status_code == 403 and body["code"] == "forbidden"
    assert body["detail"].startswith("Connectez-vous (avec le jeton CSRF de la page)")


def test_a_listed_error_detail_is_localised_and_any_other_left_as_written():
    with translation.override("fr"):
        assert localised("No such attachment.") == "Cette pièce jointe n’existe pas."
        assert localised("Something else entirely.") == "Something else entirely."
    with translation.override("en"):
        assert localised("No such attachment.") == "No such attachment."


def test_the_tools_and_pictures_texts_are_in_the_french_scripts_catalogue(client):
    catalogue = client.get("/jsi18n/fr/").content.decode()
    for text in ("Aucune r\\u00e9ponse type ne correspond", "vous a transf\\u00e9r\\u00e9 cette conversation",
                 "Ouvrir l\\u2019image", "places libres", "Refus\\u00e9e \\u00e0 l\\u2019enregistrement"):
        assert text in catalogue, text  # JavaScriptCatalog writes non-ASCII as \\uXXXX escapes


def test_the_look_preview_writes_ratios_with_a_point_in_french_too(manager_client, brand):
    """WCAG's notation, as the figures beside it (format_ratio) and the script's redraw: 4.5:1, never 4,5:1."""
    page = manager_client.get(f"/admin/visitors/brand/{brand.pk}/change/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "(il faut au moins 4.5:1)" in page and "4,5:1" not in page
