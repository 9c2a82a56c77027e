"""The message hot path's pool (chatplatform/asyncdb.py) connects as DATABASES says, nothing read apart."""

import copy

import pytest
from django.db import connections

from chatplatform import asyncdb


def _postgres_entry(**changes) -> dict:
    entry = copy.deepcopy(connections["default"].settings_dict)
    entry.update({"ENGINE": "django.db.backends.postgresql", **changes})
    return entry


def test_the_pool_takes_host_port_name_user_password_and_options_from_databases():
    entry = _postgres_entry(
        NAME="chat", USER="chatuser", PASSWORD="not-a-secret", HOST="db.internal", PORT="6543",
        OPTIONS={"sslmode": "require", "application_name": "chat-hot-path"},
    )
    params = asyncdb._connection_params(entry)
    assert params["dbname"] == "chat" and params["user"] == "chatuser" and params["password"] == "not-a-secret"
    assert params["host"] == "db.internal" and params["port"] == "6543"
    assert params["sslmode"] == "require" and params["application_name"] == "chat-hot-path"
    # Django's adapters are its own: psycopg's pool gets none of them.
    assert not {"cursor_factory", "context", "prepare_threshold"} & set(params)


def test_a_change_to_databases_is_a_change_to_the_pool():
    assert asyncdb._connection_params(_postgres_entry(HOST="a", PORT="1"))["host"] == "a"
    assert asyncdb._connection_params(_postgres_entry(HOST="b", PORT="2"))["port"] == "2"


@pytest.mark.skipif(connections["default"].vendor != "postgresql", reason="needs DATABASE_URL pointing at PostgreSQL")
def test_on_postgresql_the_pool_uses_the_default_connections_parameters():
    entry = connections["default"].settings_dict
    params = asyncdb._connection_params()
    assert params["dbname"] == entry["NAME"] and params["user"] == entry["USER"]
    assert params.get("host") == (entry["HOST"] or None) and params.get("port") == (entry["PORT"] or None)


def test_the_pool_is_off_unless_the_database_is_postgresql(settings):
    settings.CHAT_ASYNC_DB = True
    assert asyncdb.enabled() is (settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql")
    settings.CHAT_ASYNC_DB = False
    assert asyncdb.enabled() is False
