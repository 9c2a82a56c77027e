"""The websocket close codes of the v1 protocol (docs/protocol.md, "Close codes"): the one list.

Services name them too (``expert.revoked`` carries the code its sockets close with),
so they live apart from the socket base class.
"""

CLOSE_PROTOCOL = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_UNKNOWN_BRAND = 4404
CLOSE_HELLO_TIMEOUT = 4408
CLOSE_TOO_MANY = 4429
# Added: the server is going away (restart, deploy); reconnect and resume.
CLOSE_GOING_AWAY = 1012
