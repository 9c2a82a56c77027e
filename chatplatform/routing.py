"""Websocket routes, gathered from each app's routing module."""

from channels.routing import URLRouter

from experts.routing import websocket_urlpatterns as expert_routes
from moderation.routing import websocket_urlpatterns as moderation_routes
from visitors.routing import websocket_urlpatterns as visitor_routes


def websocket_application():
    return URLRouter(visitor_routes + expert_routes + moderation_routes)
