"""`make run`, the first command of the quick start, as a newcomer runs it (Makefile, chatplatform/devrun.py)."""

import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from chatplatform.devrun import link_host
from tests.e2e.servers import ROOT, free_port


def make_run(tmp_path, *args) -> subprocess.Popen:
    # A database of its own: the developer's db.sqlite3 is left alone.
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'run.sqlite3'}"
    return subprocess.Popen(["make", "--no-print-directory", "run", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def stop(process: subprocess.Popen) -> tuple[str, str]:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate()


def test_a_port_in_use_is_said_first_in_one_line_with_the_fix(tmp_path):
    # Guards against: the links printed for a server that never started, then daphne's CRITICAL traceback.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = make_run(tmp_path, f"PORT={port}")
        out, err = process.communicate(timeout=120)
    assert process.returncode != 0
    assert f"Port {port} is already in use" in err and f"make run PORT={port + 1}" in err
    assert "Traceback" not in err + out and "CRITICAL" not in err + out
    assert "/demo/" not in out  # no links to a server that is not there


@pytest.mark.skipif(link_host("0.0.0.0").startswith("127.") or link_host("0.0.0.0") == "localhost",
                    reason="this machine has no network address besides loopback")
def test_on_every_address_other_devices_get_pages_and_the_links_name_this_machine(tmp_path):
    # Guards against: HOST=0.0.0.0 answering 400 to every other device (ALLOWED_HOSTS) and links saying 0.0.0.0.
    port = free_port()
    process = make_run(tmp_path, "HOST=0.0.0.0", f"PORT={port}")
    address = link_host("0.0.0.0")
    try:
        deadline = time.monotonic() + 120
        status = None
        while status is None and time.monotonic() < deadline and process.poll() is None:
            try:
                # As another device on the network asks: by this machine's address, in the Host header too.
                with urllib.request.urlopen(f"http://{address}:{port}/demo/", timeout=2) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                time.sleep(0.3)
    finally:
        out, err = stop(process)
    assert status == 200, err[-2000:]
    assert f"http://{address}:{port}/demo/" in out
    assert "http://0.0.0.0" not in out


def test_the_demo_manager_signs_in_to_the_admin_with_the_printed_password_alone(tmp_path):
    # Guards against: two-factor sign-in (CHAT_MANAGER_MFA, on by default) stopping the quick start's demo sign-in;
    # `make run` turns it off for its own server only (docs/security.md).
    import http.cookiejar
    import re
    import urllib.parse

    port = free_port()
    process = make_run(tmp_path, f"PORT={port}")
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    try:
        deadline = time.monotonic() + 120
        form = None
        while form is None and time.monotonic() < deadline and process.poll() is None:
            try:
                with opener.open(f"{base}/admin/login/?next=/admin/", timeout=2) as response:
                    form = response.read().decode()
            except OSError:
                time.sleep(0.3)
        assert form is not None, "make run did not answer"
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": "carol", "password": "demo-pass-123",
                                       "next": "/admin/"}).encode()
        request = urllib.request.Request(f"{base}/admin/login/?next=/admin/", data=data, headers={"Referer": base + "/admin/login/"})
        with opener.open(request, timeout=10) as response:
            landed, page = response.geturl(), response.read().decode()
    finally:
        stop(process)
    assert landed == f"{base}/admin/" and "Site administration" in page
