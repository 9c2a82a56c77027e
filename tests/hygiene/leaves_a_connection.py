"""Run on its own by tests/test_suite_hygiene.py (not collected by the suite: no test_ prefix).

Holds a second session on the test database until the process ends, as a server
process or a database thread of the tests may.
"""

import psycopg
import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

HELD = []


def test_hold_a_session_on_the_test_database():
    HELD.append(psycopg.connect(**connection.get_connection_params()))
    name = HELD[0].execute("SELECT current_database()").fetchone()[0]
    assert name == connection.settings_dict["NAME"]
    print(f"HYGIENE-DB={name}")  # read by the test that runs this file (with -s)
