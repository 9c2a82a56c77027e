"""Start the real ASGI server as a subprocess on the test database, with the deployed command (chatplatform/serve.py)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
# Server logs and the faults' own redis-server work here; a fresh clone has no var/ yet.
VAR = ROOT / "var"
VAR.mkdir(exist_ok=True)


# As in production (docs/operations.md): verbosity 0 turns off daphne's access
# log, which writes every client's raw address ("127.0.0.1:49864 - - [...]
# "WSCONNECT /ws/v1/..."). Warnings and errors still reach the log through
# Django's LOGGING; nginx's access log (without $remote_addr) tells who asked for what.
DAPHNE_FLAGS = ["--verbosity", "0"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The test database as a DATABASE_URL that server processes can open."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db.get("USER") or "postgres")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def run_prefixes() -> dict:
    """The test run's own Redis prefixes (chatplatform/test_settings.py), for the servers it starts: without them a
    server counts floods and keeps its layer and cache under the production prefixes of whatever Redis it is given."""
    prefixes = {"FLOOD_KEY_PREFIX": settings.FLOOD_KEY_PREFIX}
    layer = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
    if "prefix" in layer:
        prefixes["CHANNEL_PREFIX"] = layer["prefix"]
    if "KEY_PREFIX" in settings.CACHES["default"]:
        prefixes["CACHE_PREFIX"] = settings.CACHES["default"]["KEY_PREFIX"]
    return prefixes


def server_env(**extra) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatplatform.settings",
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "0",
        "SECURE_COOKIES": "0",
        "SECURE_SSL_REDIRECT": "0",  # the test servers speak plain HTTP
        "PYTHONUNBUFFERED": "1",
        "CHAT_HELLO_TIMEOUT_SECONDS": "10",
    }
    env.update(run_prefixes())
    env.update({k: str(v) for k, v in extra.items()})
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set in the test process (Playwright): never in a server
    return env


class Server(str):
    """The base URL of a running server; ``process`` and ``log_path`` for tests that kill it or read its log."""

    process: subprocess.Popen
    log_path: Path


@contextmanager
def daphne_server(**env):
    """Yield the base URL of a daphne process serving the project; stop it afterwards."""
    port = free_port()
    log_path = VAR / f"daphne-{port}.log"
    log = open(log_path, "w+")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "chatplatform.serve", *DAPHNE_FLAGS, "-b", "127.0.0.1", "-p", str(port), "chatplatform.asgi:application"],
        cwd=ROOT, env=server_env(**env), stdout=log, stderr=subprocess.STDOUT,
    )
    base = Server(f"http://127.0.0.1:{port}")
    base.process, base.log_path = process, log_path
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"daphne exited early:\n{log.read()[-3000:]}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("daphne did not become healthy in 30 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
