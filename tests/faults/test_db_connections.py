"""The server's PostgreSQL connections stay bounded however many HTTP requests it serves.

Django's ASGI handler runs each request's view on a thread of its own. A
connection kept open past the request (CONN_MAX_AGE) then belongs to a thread
that is gone: it stays open until the garbage collector, tuned to run rarely
(chatplatform/gc_tuning.py), happens to collect it. Two hundred sign-ins one
after the other ran PostgreSQL out of connections ("too many clients").
"""

import urllib.request

import pytest
from django.db import connection

from tests.e2e.servers import daphne_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e, pytest.mark.postgres]


def server_connections() -> int:
    """Connections to the test database other than this test process's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_hundreds_of_requests_leave_a_bounded_number_of_connections(brand):
    with daphne_server() as base:
        for n in range(300):
            path = "/widget/acme/" if n % 2 else "/login/"
            with urllib.request.urlopen(base + path, timeout=10) as response:
                assert response.status == 200
        # Each request's connection closes with it: the server holds at most its
        # sockets' own (none here), however many requests came.
        assert server_connections() <= 3
