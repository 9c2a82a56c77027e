"""One group event, many sockets: decoded once and each frame encoded once, not once per socket.

A brand's queue event reaches every online expert's dashboard: 200 sockets in
the benchmark's community (docs/performance.md, "experts-online"). The pub/sub
layer (chatplatform/layers.py) used to hand each socket its own copy of the
published bytes, and each socket decoded them (msgpack) and encoded its frame
(JSON) again: 200 decodes and 200 encodes of the same thing per event. Now the
receiving process decodes a group event once into a ``SharedEvent`` that every
member socket gets, and a handler that sends the same frame to every recipient
asks ``send_shared`` for it: the first socket encodes, the rest reuse the text.

A ``SharedEvent`` is read-only by convention (no handler changes an event).
Layers that copy events per socket (Channels' in-memory layer deep-copies)
simply give each socket its own, and each encodes for itself, as before.
"""

from autobahn.exception import Disconnected
from django.conf import settings

from chatplatform import protocol


class SharedEvent(dict):
    """A group event as decoded once for every member socket of this process, with its frames' texts."""

    __slots__ = ("texts",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.texts: dict[str, str] = {}


def shared_text(event: dict, key: str, build) -> str:
    """The JSON text of the frame ``build()`` makes for ``event``: encoded once per ``key`` and shared event."""
    texts = getattr(event, "texts", None)
    if texts is None:
        return protocol.encode(build())
    text = texts.get(key)
    if text is None:
        text = texts[key] = protocol.encode(build())
    return text


async def send_shared(consumer, event: dict, key: str, build) -> None:
    """Send the frame every recipient of ``event`` gets alike (``key`` names it), encoded once."""
    if settings.CHAT_CHECK_FRAMES:  # tests: checked against its declaration, as ProtocolConsumer.send_frame does
        protocol.check_outbound(consumer.outbound, build())
    try:
        await consumer.send(text_data=shared_text(event, key, build))
    except Disconnected:  # as ProtocolConsumer.send_frame: the disconnect follows, the resume recovers
        pass
