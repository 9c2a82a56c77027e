"""Channels' session authentication for the signed-in sockets, with the user read on our database pool.

Channels' ``AuthMiddleware`` reads the session and the user through its own
``database_sync_to_async``, on one thread for the whole process. In a burst of
expert handshakes (a deploy, a reconnect storm) every handshake then queues
behind the others' session reads, before the consumer can even accept. The
same reads run here on the sockets' pool of database threads (chatplatform/db.py).
Nothing else changes: it is Channels' own ``get_user``, run elsewhere.

With ``deferred=True`` the middleware reads nothing: the consumer accepts
first and then calls ``read_user`` (or ``read_user_now`` in its own database call). daphne (autobahn) drops a handshake that
is not accepted within 5 s, and in a reconnect storm of thousands of sockets
the reads queue for longer than that; accepted first, the socket just waits
for its `welcome`. An unauthenticated socket is refused the same way either
way: accepted, then closed with 4401.
"""

from channels.auth import AuthMiddleware, get_user
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.utils.functional import empty

from chatplatform.db import database_sync_to_async

_read_user = get_user.func  # the synchronous body of Channels' get_user


def read_user_now(scope):
    """The scope's user (AnonymousUser when the session signs nobody in), read once; call it in a database thread."""
    user = scope["user"]
    if user._wrapped is empty:
        user._wrapped = _read_user(scope)
    return user._wrapped


async def read_user(scope):
    """``read_user_now`` on the pool."""
    if scope["user"]._wrapped is empty:
        await database_sync_to_async(read_user_now)(scope)
    return scope["user"]._wrapped


class PooledAuthMiddleware(AuthMiddleware):
    def __init__(self, inner, deferred: bool = False):
        super().__init__(inner)
        self.deferred = deferred

    async def resolve_scope(self, scope):
        if not self.deferred:
            await read_user(scope)


def AuthMiddlewareStack(inner, deferred: bool = False):  # noqa: N802 - named as Channels' own
    return CookieMiddleware(SessionMiddleware(PooledAuthMiddleware(inner, deferred=deferred)))
