"""Test overrides, in one place: fast hashing, e-mail kept in memory."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-key-not-secret")
# Pictures go to a directory of this run's own, outside the checkout (end-to-end servers inherit it).
if "CHAT_MEDIA_ROOT" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["CHAT_MEDIA_ROOT"] = tempfile.mkdtemp(prefix="chat-test-media-")
    # The process that made it removes it (its server subprocesses have exited by then).
    atexit.register(shutil.rmtree, os.environ["CHAT_MEDIA_ROOT"], ignore_errors=True)

from .settings import *  # noqa: E402,F403
from .settings import BASE_DIR, CACHES, CHANNEL_LAYERS, DATABASES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# Every frame a socket sends is checked against its declaration (tests/conftest.py fails the test otherwise).
CHAT_CHECK_FRAMES = True
CHAT_HELLO_TIMEOUT_SECONDS = float(os.environ.get("CHAT_HELLO_TIMEOUT_SECONDS", "10"))

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # One test database per run, so that runs side by side do not collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: end-to-end tests start server processes that must
    # see the same test database.
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}

# Close connections after each use: tests create and drop databases.
DATABASES["default"]["CONN_MAX_AGE"] = 0

# django-axes needs a request at every authenticate(), which the test client's
# login() does not pass; the sign-in throttling tests switch it back on.
AXES_ENABLED = False
# The test client speaks plain HTTP; production redirects (see settings and the check --deploy test).
SECURE_SSL_REDIRECT = False

# Runs side by side on one Redis (two checkouts, CI and a developer) must not
# flush or count each other's keys.
if CHANNEL_LAYERS["default"]["BACKEND"] != "channels.layers.InMemoryChannelLayer":
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"chattest{os.getpid()}"
    CACHES["default"]["KEY_PREFIX"] = f"chattestcache{os.getpid()}"
FLOOD_KEY_PREFIX = f"chattestflood{os.getpid()}"

# Each test makes its brands anew (same slug, new row): no process-wide copy.
CHAT_BRAND_CACHE_SECONDS = 0
CHAT_ONLINE_COUNT_SECONDS = 0
CHAT_ONLINE_PUSH_SECONDS = 0.05
# Nor a shared copy of a brand's blocks (ids repeat across tests); tests/moderation/test_block_index.py sets it.
CHAT_BLOCK_INDEX_SECONDS = 0
# The test process keeps CPython's collector: gc.freeze() here would keep whatever the first test
# holds (connections included) for the whole run (tests/test_gc_tuning.py tests the tuning itself).
CHAT_GC_GEN0_THRESHOLD = 0
