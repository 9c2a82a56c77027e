"""What a developer sees in the server's log and at the site's root (chatplatform/log_filters.py, settings.LOGGING, urls)."""

import http.client
from urllib.parse import urlsplit

import pytest

from tests.e2e.servers import daphne_server
from tests.support import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def get(base: str, path: str, **headers) -> tuple[int, dict, bytes]:
    """One GET without following redirects."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.e2e
def test_in_development_each_line_is_logged_once_and_a_refusal_without_its_traceback(brand):
    # Guards against: every log line printed twice, a full traceback for each refused admin page or bad Host,
    # a 404 for /favicon.ico on every page, and a debug 404 at the site's root.
    from django.contrib.auth.models import User

    staff_without_rights = User.objects.create_user("dana", password="not-used-here-123", is_staff=True)
    cookie = session_cookie(staff_without_rights).decode()
    with daphne_server(DEBUG="1") as base:
        status, headers, _ = get(base, "/")
        assert (status, headers["Location"]) == (302, "/demo/")
        status, headers, _ = get(base, "/favicon.ico")
        assert status == 301 and headers["Location"] == "/static/chat/favicon.ico"
        status, headers, body = get(base, headers["Location"])
        assert status == 200 and body[:4] == b"\x00\x00\x01\x00"  # an icon file
        assert get(base, "/no-such-page/")[0] == 404
        assert get(base, "/admin/auth/user/", Cookie=cookie)[0] == 403
        assert get(base, "/demo/", Host="evil.example")[0] == 400
    log = base.log_path.read_text()
    assert log.count("Not Found: /no-such-page/") == 1, log
    assert log.count("Forbidden (Permission denied): /admin/auth/user/") == 1, log
    assert log.count("Invalid HTTP_HOST header: 'evil.example'") == 1, log
    assert "Traceback" not in log and "favicon" not in log and "Not Found: /\n" not in log, log


def test_outside_development_the_root_is_a_small_page_pointing_to_the_sign_in(client, settings):
    settings.DEBUG = False
    response = client.get("/")
    assert response.status_code == 200
    assert b'href="/login/"' in response.content
    assert client.get("/favicon.ico").status_code == 301
