"""Django's database sessions, with the read every signed-in socket makes built once.

``SESSION_ENGINE = "chatplatform.sessions"``: the same table, the same
sessions, the same expiry as ``django.contrib.sessions.backends.db``. Only the
read of one session by its key is a statement (chatplatform/statements.py):
every expert socket reads its session when it connects, and in a reconnect
storm thousands do at once.
"""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone

from chatplatform.statements import Param, Statement


def _session_by_key():
    model = SessionStore.get_model_class()
    return model.objects.filter(
        session_key=Param("key", model._meta.get_field("session_key")),
        expire_date__gt=Param("now", model._meta.get_field("expire_date")),
    )[:1]


_session = Statement(_session_by_key)


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        # Only keys Django could have made (its own alphabet): a cookie holding a NUL reached the
        # query and PostgreSQL refused it (a traceback on the socket); now it names no session.
        return super()._validate_session_key(key) and all(ch in VALID_KEY_CHARS for ch in key)

    def _get_session_from_db(self):
        # As Django's: the unexpired session with this key, or None (and the key is forgotten).
        session = _session.first(key=self.session_key, now=timezone.now())
        if session is None:
            self._session_key = None
        return session
