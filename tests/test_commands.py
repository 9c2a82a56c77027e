"""Management commands: the demo data and the set-up commands an operator uses."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db


def run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


def test_seed_demo_is_idempotent_and_prints_the_sign_ins(client):
    from experts.models import ExpertProfile
    from visitors.models import Brand

    first = run("seed_demo")
    run("seed_demo")
    assert "alice" in first and "carol" in first and "demo-pass-123" in first
    assert Brand.objects.count() == 1 and ExpertProfile.objects.count() == 2
    assert client.login(username="alice", password="demo-pass-123")
    assert client.login(username="carol", password="demo-pass-123")


def test_community_manager_is_staff_but_not_superuser():
    from django.contrib.auth import get_user_model

    run("create_community_manager", "mia", password="s3cret-pass")
    user = get_user_model().objects.get(username="mia")
    assert user.is_staff and not user.is_superuser
    assert user.groups.filter(name="Community managers").exists()


def test_create_brand_and_expert_validate_their_input():
    from experts.models import ExpertProfile

    with pytest.raises(CommandError):
        run("create_brand", "shop", name="Shop", origin=["not an origin"])
    run("create_brand", "shop", name="Shop", origin=["https://shop.example"])
    with pytest.raises(CommandError):
        run("create_expert", "eve", password="x-pass-123", brand=["nope"])
    with pytest.raises(CommandError):
        run("create_expert", "eve", password="x-pass-123", brand=["shop"], topics="unknown")
    run("create_expert", "eve", password="x-pass-123", brand=["shop"], capacity=5, display_name="Eve")
    profile = ExpertProfile.objects.get(user__username="eve")
    assert profile.capacity == 5 and profile.display_name == "Eve"
    assert list(profile.brands.values_list("slug", flat=True)) == ["shop"]


def test_healthz_reports_each_part(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}


def test_healthz_is_503_naming_the_failing_part(client, monkeypatch):
    from chatplatform import views

    monkeypatch.setattr(views, "_check_channel_layer", lambda: "error")
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["channel_layer"] == "error"


def test_create_brand_takes_several_origins_after_one_flag_as_the_protocol_writes_it():
    from visitors.models import Brand

    call_command("create_brand", "duo", "--name", "Duo", "--origin", "https://a.duo.test", "https://b.duo.test", stdout=io.StringIO())
    call_command("create_brand", "trio", "--name", "Trio", "--origin", "https://a.trio.test", "--origin", "https://b.trio.test", stdout=io.StringIO())
    assert Brand.objects.get(slug="duo").origin_list == ["https://a.duo.test", "https://b.duo.test"]
    assert Brand.objects.get(slug="trio").origin_list == ["https://a.trio.test", "https://b.trio.test"]
