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


# Each: a command line an operator could type, and words the error must hold. Before, most of these
# ended in a database traceback (smallint out of range, value too long, NUL on PostgreSQL) or wrote
# what the admin's forms refuse.
BAD_ARGUMENTS = [
    (["create_expert", "eve", "--password", "x-pass-123", "--brand", "shop", "--capacity", "100000"], "--capacity"),
    (["create_expert", "eve", "--password", "x-pass-123", "--brand", "shop", "--capacity", "-1"], "--capacity"),
    (["create_expert", "eve", "--password", "x-pass-123", "--brand", "shop", "--display-name", "x" * 61], "--display-name"),
    (["create_expert", "eve", "--password", "x-pass-123", "--brand", "shop", "--bio", "x" * 501], "--bio"),
    (["create_expert", "e" * 151, "--password", "x-pass-123", "--brand", "shop"], "username"),
    (["create_expert", "eve ve", "--password", "x-pass-123", "--brand", "shop"], "username"),
    (["create_expert", "eve", "--password", "x-pass-123", "--brand", "sh\x00op"], "--brand"),
    (["create_expert", "eve", "--password", "x-pass-123", "--brand", "shop", "--topics", "a\x00"], "--topics"),
    (["create_expert", "eve", "--password", "123", "--brand", "shop"], "--password"),
    (["create_expert", "eve", "--password", "x-pass-123\x00", "--brand", "shop"], "--password"),
    (["create_community_manager", "m" * 151, "--password", "s3cret-pass"], "username"),
    (["create_community_manager", "mia", "--password", "s3cret-pass", "--email", "not an address"], "--email"),
    (["create_community_manager", "mia", "--password", "short"], "--password"),
    (["create_community_manager", "mi\x00a", "--password", "s3cret-pass"], "username"),
    (["create_brand", "not a slug", "--name", "Shop"], "slug"),
    (["create_brand", "s" * 51, "--name", "Shop"], "slug"),
    (["create_brand", "shop2", "--name", "n" * 101], "--name"),
    (["create_brand", "shop2", "--name", "Sh\x00op"], "--name"),
    (["create_brand", "shop2", "--name", "Shop", "--welcome", "hi\x00"], "--welcome"),
    (["create_brand", "shop2", "--name", "Shop", "--origin", "https://a.test\x00"], "--origin"),
    (["seed_demo", "--origin", "not an origin"], "--origin"),
    (["purge_personal_data", "--days", "99999999"], "--days"),
    (["purge_personal_data", "--days", "-1"], "--days"),
]


def _state():
    from django.contrib.auth import get_user_model

    from experts.models import ExpertProfile
    from visitors.models import Brand

    return (
        sorted(get_user_model().objects.values_list("username", "password", "email")),
        sorted(ExpertProfile.objects.values_list("user__username", "capacity", "display_name", "bio")),
        sorted(Brand.objects.values_list("slug", "name", "allowed_origins", "welcome_message")),
    )


@pytest.mark.parametrize("argv,named", BAD_ARGUMENTS, ids=[" ".join(a)[:70].replace("\x00", "NUL") for a, _ in BAD_ARGUMENTS])
def test_every_command_refuses_a_bad_argument_with_a_clear_error_and_changes_nothing(argv, named):
    # Guards against: `create_expert --capacity 100000` (and its like) ending in a database traceback.
    run("create_brand", "shop", name="Shop", origin=["https://shop.example"])
    before = _state()
    with pytest.raises(CommandError) as refused:
        call_command(*argv, stdout=io.StringIO())
    assert named in str(refused.value)
    assert _state() == before


def test_a_refused_command_exits_non_zero_with_one_line_and_no_traceback(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": ""}
    manage = [sys.executable, str(root / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, cwd=root, check=True, capture_output=True)
    subprocess.run([*manage, "create_brand", "shop", "--name", "Shop"], env=env, cwd=root, check=True, capture_output=True)
    done = subprocess.run(
        [*manage, "create_expert", "eve", "--password", "x-pass-123", "--brand", "shop", "--capacity", "100000"],
        env=env, cwd=root, capture_output=True, text=True,
    )
    assert done.returncode == 1
    assert "--capacity" in done.stderr and "Traceback" not in done.stderr
