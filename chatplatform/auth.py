"""Channels' session authentication for the signed-in sockets, with the user read on our database pool.

Channels' ``AuthMiddleware`` reads the session and the user through its own
``database_sync_to_async``, on one thread for the whole process. In a burst of
expert handshakes (a deploy, a reconnect storm) every handshake then queues
behind the others' session reads, before the consumer can even accept. The
same reads run here on the sockets' pool of database threads (chatplatform/db.py).
Nothing else changes: it is Channels' own ``get_user``, run elsewhere.
"""

from channels.auth import AuthMiddleware, get_user
from channels.sessions import CookieMiddleware, SessionMiddleware

from chatplatform.db import database_sync_to_async

_read_user = get_user.func  # the synchronous body of Channels' get_user


class PooledAuthMiddleware(AuthMiddleware):
    async def resolve_scope(self, scope):
        scope["user"]._wrapped = await database_sync_to_async(_read_user)(scope)


def AuthMiddlewareStack(inner):  # noqa: N802 - named as Channels' own
    return CookieMiddleware(SessionMiddleware(PooledAuthMiddleware(inner)))
