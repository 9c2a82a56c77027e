"""ASGI entry point: Django for HTTP, the chat consumers for websockets."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatplatform.settings")
# Django first: it sets up the app registry the routing imports need.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from chatplatform.consumers import close_bad_frames_with_their_code, close_sockets_on_shutdown  # noqa: E402
from chatplatform.db import close_connections_after_requests  # noqa: E402
from chatplatform.gc_tuning import tune_for_many_sockets  # noqa: E402
from chatplatform.handshake_logging import format_lazily  # noqa: E402
from chatplatform.routing import websocket_application  # noqa: E402
from chatplatform.upload_limit import UploadSizeLimit  # noqa: E402
from chatplatform.worker import start_in_server  # noqa: E402

close_sockets_on_shutdown()
close_bad_frames_with_their_code()
start_in_server()  # only with CHAT_WORKER_IN_SERVER (the in-memory layer: `make run`)
close_connections_after_requests()
format_lazily()

application = ProtocolTypeRouter({"http": UploadSizeLimit(django_asgi_app), "websocket": websocket_application()})

# Last: what is loaded by now lives as long as the process (chatplatform/gc_tuning.py).
tune_for_many_sockets()
