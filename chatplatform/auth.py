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
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.utils.crypto import constant_time_compare
from django.utils.functional import empty

from chatplatform.db import database_sync_to_async
from chatplatform.statements import Param, Statement

_channels_read_user = get_user.func  # the synchronous body of Channels' get_user

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

# ModelBackend.get_user's read of the user by its id, built once (chatplatform/statements.py).
_user_by_id = Statement(lambda: get_user_model()._default_manager.filter(pk=Param("user", get_user_model()._meta.pk))[:1])


def _read_user(scope):
    """Channels' ``get_user``, step for step, with the user read as a statement.

    Sessions signed in by Django's ModelBackend (every expert's) are read here:
    the user by id, refused if inactive (``user_can_authenticate``), and the
    session flushed when its hash no longer matches the user's (a changed
    password). A session of any other backend goes to Channels' own function.
    """
    session = scope["session"]
    try:
        user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return AnonymousUser()
    if backend_path != MODEL_BACKEND or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return _channels_read_user(scope)
    user = _user_by_id.first(user=user_id)
    if user is None or not ModelBackend().user_can_authenticate(user):
        return AnonymousUser()
    session_hash = session.get(HASH_SESSION_KEY)
    if not (session_hash and constant_time_compare(session_hash, user.get_session_auth_hash())):
        session.flush()
        return AnonymousUser()
    return user


def session_store(session_key):
    """The session of this key, read when first used."""
    from importlib import import_module

    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)


def user_of_session(session_key_or_store):
    """The user a session signs in now, read afresh (AnonymousUser if none); in a database thread.

    For sockets that re-check who they serve: the scope's session and user are
    the ones read at the handshake. Takes the session's key, or a ``session_store`` to read more of it.
    """
    session = session_key_or_store if hasattr(session_key_or_store, "get") else session_store(session_key_or_store)
    return _read_user({"session": session})


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
