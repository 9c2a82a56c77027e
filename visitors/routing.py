from django.urls import path

from .consumers import VisitorConsumer

# The visitor socket checks its origin itself: the allowed list depends on the brand.
websocket_urlpatterns = [
    path("ws/v1/visitor/<slug:brand_slug>/", VisitorConsumer.as_asgi()),
]
