"""Settings that keep sockets alive under load."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings


def layer_settings(**env) -> dict:
    """CHANNEL_LAYERS as chatplatform/settings.py builds it under ``env`` (a fresh interpreter: settings load once)."""
    code = "import json; from django.conf import settings; print(json.dumps(settings.CHANNEL_LAYERS['default']))"
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatplatform.settings", "DEBUG": "1", **env}
    result = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("layer", ["pubsub", "redis"])
def test_redis_reads_outlast_the_channel_layers_blocking_pop(layer):
    """channels-redis blocks on BZPOPMIN for brpop_timeout seconds; a read timeout no longer than that
    raises TimeoutError in a consumer's receive and closes its socket. Checked on the settings each
    Redis layer is built with, whatever backend this test run uses."""
    from channels_redis.core import RedisChannelLayer

    assert settings.REDIS_SOCKET_TIMEOUT > RedisChannelLayer.brpop_timeout
    config = layer_settings(REDIS_URL="redis://127.0.0.1:6379/15", CHANNEL_LAYER=layer)
    assert config["BACKEND"] == f"chatplatform.layers.Chat{'PubSub' if layer == 'pubsub' else 'Redis'}ChannelLayer"
    hosts = config["CONFIG"]["hosts"]
    assert hosts, "a Redis layer without hosts"
    for host in hosts:
        assert host["socket_timeout"] is None or host["socket_timeout"] > RedisChannelLayer.brpop_timeout


def test_mail_settings_come_from_the_environment_file_path_and_timeout_included(tmp_path):
    """EMAIL_FILE_PATH sends the file backend's e-mails to that folder; EMAIL_TIMEOUT bounds SMTP's waits."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import django; django.setup()\n"
        "from django.conf import settings; from django.core.mail import send_mail\n"
        "send_mail('Alert', 'Look', 'chat@example.test', ['carol@example.test'])\n"
        "print(settings.EMAIL_TIMEOUT)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatplatform.settings", "DEBUG": "1", "EMAIL_TIMEOUT": "4",
           "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[1], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "4.0"
    [written] = list(tmp_path.iterdir())
    assert "Subject: Alert" in written.read_text()
    assert settings.EMAIL_TIMEOUT > 0  # the default too: never an unbounded wait
