"""What a test run leaves behind: no test database, no keys under production prefixes."""

import asyncio
import json
import os
import subprocess
import sys

import pytest
import websockets
from django.conf import settings

from tests.e2e.servers import ROOT, daphne_server
from tests.support import redis_url


@pytest.mark.postgres
def test_the_postgresql_test_database_is_dropped_even_when_a_session_still_holds_it():
    # Guards against: "database ... is being accessed by other users" at teardown, and a test database left per run.
    import psycopg

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "tests/hygiene/leaves_a_connection.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert "Error when trying to teardown" not in run.stdout, run.stdout[-3000:]
    name = run.stdout.split("HYGIENE-DB=", 1)[1].split()[0]
    with psycopg.connect(**_admin_params(), autocommit=True) as admin:
        left = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchall()
    assert left == [], f"{name} was left behind"


def _admin_params() -> dict:
    from django.db import connection

    params = connection.get_connection_params()
    params["dbname"] = "postgres"
    return params


@pytest.mark.e2e
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_server_processes_count_floods_under_the_test_runs_prefix(brand):
    # Guards against: end-to-end servers writing flood keys under the production prefix of the Redis they are given.
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url())
    try:
        with daphne_server(REDIS_URL=redis_url()) as base:
            async with websockets.connect(base.replace("http", "ws") + "/ws/v1/visitor/acme/", origin="https://shop.acme.test") as ws:
                await ws.send(json.dumps({"type": "hello", "token": None}))
                assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "welcome"
                keys = [key async for key in client.scan_iter(match=f"{settings.FLOOD_KEY_PREFIX}:*")]
        assert keys, "the server counted nothing under the test run's flood prefix"
    finally:
        await client.aclose()
