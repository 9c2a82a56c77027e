from django.urls import path

from chatplatform.auth import AuthMiddlewareStack
from chatplatform.origins import OwnOriginValidator

from .consumers import ExpertConsumer

# Session-authenticated: only pages of our own hosts may open it (no cross-site hijacking).
# The user is read after the socket is accepted (deferred: chatplatform/auth.py).
websocket_urlpatterns = [
    path("ws/v1/expert/", OwnOriginValidator(AuthMiddlewareStack(ExpertConsumer.as_asgi(), deferred=True))),
]
