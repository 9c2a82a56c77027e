from django.urls import path

from chatplatform.auth import AuthMiddlewareStack
from chatplatform.origins import OwnOriginValidator

from .consumers import ModerationConsumer

websocket_urlpatterns = [
    path("ws/v1/moderation/", OwnOriginValidator(AuthMiddlewareStack(ModerationConsumer.as_asgi()))),
]
