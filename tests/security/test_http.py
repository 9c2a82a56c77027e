"""HTTP hardening: sign-in throttling, security headers, Django's deployment checks."""

import os
import secrets
import subprocess
import sys

import pytest
from django.core.cache import cache

from tests.e2e.servers import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def throttled(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_repeated_failed_sign_ins_lock_the_account_out_from_that_address(client, alice, throttled, path):
    # Guards against: online password brute force / credential stuffing on the sign-in forms.
    for _ in range(4):
        response = client.post(path, {"username": "alice", "password": "wrong"}, REMOTE_ADDR="198.51.100.9")
        assert response.status_code == 200  # the form again, with its error
    locked = client.post(path, {"username": "alice", "password": "wrong"}, REMOTE_ADDR="198.51.100.9")
    assert locked.status_code == 429
    # Even the right password is refused now, from that address...
    assert client.post(path, {"username": "alice", "password": "pw-alice"}, REMOTE_ADDR="198.51.100.9").status_code == 429
    # ...while the expert can still sign in from elsewhere (no lock-out of a user by anyone who knows the name).
    elsewhere = client.post("/login/", {"username": "alice", "password": "pw-alice"}, REMOTE_ADDR="203.0.113.4")
    assert elsewhere.status_code == 302


def test_pages_carry_csp_frame_and_sniffing_headers_and_hsts_over_https(client):
    # Guards against: clickjacking, script injection impact and protocol downgrade on the platform's pages.
    response = client.get("/login/", secure=True)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize("redis", [False, True])
def test_check_deploy_is_clean_with_a_production_environment(redis):
    # Guards against: insecure deployment settings (DEBUG, weak SECRET_KEY, cookies, HSTS, SSL redirect) slipping in.
    env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "DATABASE_URL", "REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="chatplatform.settings", SECRET_KEY=secrets.token_urlsafe(50),
               DEBUG="0", ALLOWED_HOSTS="chat.example.test")
    if redis:
        env["REDIS_URL"] = "redis://127.0.0.1:6379/0"  # only configured; the check does not connect
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout + result.stderr


def csp_directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_only_the_widget_may_be_framed_and_only_by_its_own_brands_pages(client, alice, brand, other_brand):
    # Guards against: clickjacking (a foreign page framing the widget, the dashboard or the admin under a decoy).
    brand.allowed_origins = "https://shop.acme.test\nhttps://www.acme.test/"
    brand.save()
    acme = client.get("/widget/acme/")
    assert acme.status_code == 200
    assert csp_directives(acme)["frame-ancestors"] == ["'self'", "https://shop.acme.test", "https://www.acme.test"]
    assert "X-Frame-Options" not in acme  # it cannot name origins; CSP does
    globex = client.get("/widget/globex/")  # another brand's widget: its pages only, never acme's
    assert csp_directives(globex)["frame-ancestors"] == ["'self'", "https://globex.test"]

    client.force_login(alice.user)
    for path in ["/login/", "/demo/", "/dashboard/", "/dashboard/profile/", "/community/", "/admin/login/", "/widget/nope/"]:
        response = client.get(path)
        assert response.status_code in {200, 302, 404}, (path, response.status_code)
        assert csp_directives(response)["frame-ancestors"] == ["'none'"], path
        assert response["X-Frame-Options"] == "DENY", path
