"""Cross-site websocket hijacking: which pages may open which socket."""

import asyncio

import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from tests.e2e.servers import daphne_server
from tests.support import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

FOREIGN_ORIGINS = [
    b"https://evil.test",
    b"null",
    b"",
    None,
    b"http://testserver.evil.test",
    b"http://evil.test/?http://testserver",
    b"http://[::1",
    b"http://testserver:99999",
    b"javascript:alert(1)",
    b"http://user@testserver",
    b"\xff\xfe",
    # Our own host name, but not our page: another port, another scheme, another allowed host than the one asked for.
    b"http://testserver:8080",
    b"https://testserver",
    b"https://testserver:1",
    b"http://localhost",
]

# Our own host on another port or scheme: another program on the same machine, not our page.
OWN_HOST_ELSEWHERE = [b"http://testserver:8080", b"https://testserver", b"https://testserver:1", b"http://localhost"]


@pytest.fixture
def manager(db, django_user_model):
    import io

    from django.core.management import call_command

    call_command("create_community_manager", "carol", password="pw-carol-123", stdout=io.StringIO())
    return django_user_model.objects.get(username="carol")


async def open_with(connect, path, user, origin, host=b"testserver", extra=()):
    cookie = await database_sync_to_async(session_cookie)(user)
    headers = [(b"cookie", cookie), (b"host", host), *extra]
    if origin is not None:
        headers.append((b"origin", origin))
    return await connect.raw(path, headers)


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
async def test_expert_socket_with_a_valid_session_refuses_foreign_origins_before_accept(connect, brand, alice, origin):
    # Guards against: cross-site websocket hijacking of an expert's session (CSWSH), and a 500 on a malformed Origin.
    socket, connected, code = await open_with(connect, "/ws/v1/expert/", alice.user, origin)
    assert not connected and socket.closed


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
async def test_moderation_socket_with_a_valid_session_refuses_foreign_origins_before_accept(connect, manager, origin):
    # Guards against: cross-site websocket hijacking of a community manager's live feed (CSWSH).
    socket, connected, code = await open_with(connect, "/ws/v1/moderation/", manager, origin)
    assert not connected and socket.closed


async def test_own_origin_is_still_welcome(connect, brand, alice, manager):
    # Guards against: an origin check so strict that the real dashboard cannot connect (lock-out regression).
    expert, connected, _ = await open_with(connect, "/ws/v1/expert/", alice.user, b"http://testserver")
    assert connected and (await expert.recv())["type"] == "welcome"
    feed, connected, _ = await open_with(connect, "/ws/v1/moderation/", manager, b"http://testserver")
    assert connected and (await feed.recv())["type"] == "welcome"


@pytest.mark.parametrize("path", ["/ws/v1/expert/", "/ws/v1/moderation/"])
async def test_own_origin_must_match_the_host_scheme_and_port_the_socket_was_opened_on(connect, brand, alice, manager, path, settings):
    # Guards against: an own-origin check that compares only the host name (a page on another port or scheme of our host hijacking sessions).
    user = alice.user if path == "/ws/v1/expert/" else manager
    # The dashboard served on port 8080 opens its socket on port 8080: welcome.
    socket, connected, _ = await open_with(connect, path, user, b"http://testserver:8080", host=b"testserver:8080")
    assert connected and (await socket.recv())["type"] == "welcome"
    # The same page may not open a socket on the default port, nor a page on the default port one on 8080.
    for origin, host in [(b"http://testserver:8080", b"testserver"), (b"http://testserver", b"testserver:8080"),
                         (b"http://localhost", b"testserver"), (b"http://testserver", b"localhost")]:
        _, connected, _ = await open_with(connect, path, user, origin, host=host)
        assert not connected, (origin, host)
    # A Host outside ALLOWED_HOSTS (DNS rebinding) is refused even when the Origin repeats it.
    _, connected, _ = await open_with(connect, path, user, b"http://evil.test", host=b"evil.test")
    assert not connected
    # Behind the TLS proxy the page is https; its plain-http twin is another origin.
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxied = [(b"x-forwarded-proto", b"https")]
    socket, connected, _ = await open_with(connect, path, user, b"https://testserver", extra=proxied)
    assert connected and (await socket.recv())["type"] == "welcome"
    _, connected, _ = await open_with(connect, path, user, b"http://testserver", extra=proxied)
    assert not connected


async def test_visitor_socket_without_an_origin_is_refused_before_any_frame(connect, brand):
    # Guards against: a client that names no page (a script, a hostile native client) skipping the brand's origin list.
    for headers in ([(b"host", b"testserver")], [(b"host", b"testserver"), (b"origin", b"")]):
        socket, connected, _ = await connect.raw("/ws/v1/visitor/acme/", headers)
        assert not connected and socket.log == []
    visitor = await connect.visitor(origin=b"https://shop.acme.test")  # the brand's page still gets in
    assert visitor.welcome["type"] == "welcome"


@pytest.mark.parametrize("origin", OWN_HOST_ELSEWHERE)
async def test_visitor_socket_refuses_our_host_on_another_port_or_scheme(connect, brand, origin):
    # Guards against: the widget's own-host check ignoring port and scheme (another program on our host posing as the widget).
    _, connected, _ = await connect.raw("/ws/v1/visitor/acme/", [(b"host", b"testserver"), (b"origin", origin)])
    assert not connected


async def test_visitor_socket_accepts_the_widget_page_of_our_own_host(connect, brand):
    # Guards against: an exact own-origin check that locks out the widget page we serve ourselves.
    visitor = await connect.visitor(origin=b"http://testserver")
    assert visitor.welcome["type"] == "welcome"


@pytest.mark.parametrize("origin", [
    b"https://shop.acme.test.evil.test",
    b"https://evil.shop.acme.test",
    b"http://shop.acme.test",
    b"https://shop.acme.test:8443",
    b"https://shop-acme.test",
    b"null",
    b"https://shop.acme.test@evil.test",
])
async def test_visitor_socket_refuses_lookalike_origins(connect, brand, origin):
    # Guards against: origin allow-lists matched by prefix/suffix or ignoring scheme and port (lookalike domains).
    socket, connected, _ = await connect.raw("/ws/v1/visitor/acme/", [(b"origin", origin)])
    assert not connected


@pytest.mark.e2e
async def test_through_daphne_a_foreign_origin_gets_http_403_and_no_traceback(brand, alice, manager):
    # Guards against: CSWSH through the real server, where a crashing origin check would answer 500 and log a traceback.
    cookie = (await sync_to_async(session_cookie)(alice.user)).decode()
    manager_cookie = (await sync_to_async(session_cookie)(manager)).decode()
    with daphne_server() as base:
        ws = base.replace("http", "ws")
        cases = [("/ws/v1/expert/", cookie), ("/ws/v1/moderation/", manager_cookie)]
        for path, session in cases:
            for origin in ["https://evil.test", "null", "", None, "http://[::1", "http://127.0.0.1.evil.test"]:
                headers = {"Cookie": session}
                if origin is not None:
                    headers["Origin"] = origin
                with pytest.raises(websockets.InvalidStatus) as refused:
                    await websockets.connect(ws + path, additional_headers=headers, open_timeout=5)
                # daphne itself answers 400 to an Origin it cannot parse; ours answer 403. Never a 5xx.
                expected = {400, 403} if origin in ("", "http://[::1") else {403}
                assert refused.value.response.status_code in expected, (path, origin)
        port = int(base.rsplit(":", 1)[1])
        for path, session in cases:  # our own host, but another port or scheme
            for origin in [f"http://127.0.0.1:{port + 1}", f"https://127.0.0.1:{port}", "http://127.0.0.1", f"http://localhost:{port}"]:
                with pytest.raises(websockets.InvalidStatus) as refused:
                    await websockets.connect(ws + path, origin=origin, additional_headers={"Cookie": session}, open_timeout=5)
                assert refused.value.response.status_code == 403, (path, origin)
        for origin in ["https://shop.acme.test.evil.test", "https://x.shop.acme.test", None]:
            with pytest.raises(websockets.InvalidStatus) as refused:
                await websockets.connect(ws + "/ws/v1/visitor/acme/", origin=origin, open_timeout=5)
            assert refused.value.response.status_code == 403, origin
        async with websockets.connect(ws + "/ws/v1/expert/", origin=base, additional_headers={"Cookie": cookie}) as ok:
            assert '"welcome"' in await asyncio.wait_for(ok.recv(), 5)
        log = (servers_log(base)).read_text()
        assert "Traceback" not in log, log[-2000:]


def servers_log(base):
    from tests.e2e.servers import ROOT

    return ROOT / "var" / f"daphne-{base.rsplit(':', 1)[1]}.log"
