"""Socket helpers for the moderation tests: visitors from a given address, a claimed conversation, the live feed."""

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from tests.support import BRAND_ORIGIN, OWN_HOST, TIMEOUT, Socket, application, client_id, session_cookie


async def visitor_from(connect, address, token=None):
    """A visitor socket whose X-Forwarded-For names ``address`` (see the ``via_proxy`` fixture)."""
    return await connect.visitor(token=token, origin=BRAND_ORIGIN, address=address)


async def visitor_with_peer(connect, peer: str, *, forwarded_for: str | None = None, token=None, hello=True):
    """A visitor socket coming from the network address ``peer``, maybe carrying an X-Forwarded-For."""
    headers = [(b"host", OWN_HOST), (b"origin", BRAND_ORIGIN)]
    if forwarded_for:
        headers.append((b"x-forwarded-for", forwarded_for.encode()))
    communicator = WebsocketCommunicator(application(), "/ws/v1/visitor/acme/", headers=headers)
    communicator.scope["client"] = (peer, 50123)  # what the server sees as the peer; read once the app runs
    connected, code = await communicator.connect(timeout=TIMEOUT)
    socket = Socket(communicator)
    connect.opened.append(socket)
    assert connected, f"visitor socket refused ({code})"
    if hello:
        await socket.send({"type": "hello", "token": token})
        socket.welcome = await socket.recv()
        socket.token = socket.welcome.get("token")
    return socket


async def start(visitor, text="Where is my order?"):
    await visitor.send({"type": "conversation.start", "text": text, "client_id": client_id()})
    conversation_id = (await visitor.recv_type("conversation"))["conversation"]["id"]
    await visitor.recv_type("message")
    return conversation_id


async def claimed(connect, expert_profile, visitor, conversation_id):
    expert = await connect.expert(expert_profile)
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await visitor.recv_type("conversation")
    return expert


async def active_conversation(connect, expert_profile, address="198.51.100.7", text="Where is my order?"):
    visitor = await visitor_from(connect, address)
    conversation_id = await start(visitor, text)
    expert = await claimed(connect, expert_profile, visitor, conversation_id)
    return visitor, expert, conversation_id


async def moderation_feed(connect, user):
    cookie = await database_sync_to_async(session_cookie)(user)
    socket, connected, _ = await connect.raw(
        "/ws/v1/moderation/", [(b"cookie", cookie), (b"origin", b"http://testserver"), (b"host", b"testserver")]
    )
    assert connected
    socket.welcome = await socket.recv()
    return socket
