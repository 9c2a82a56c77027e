"""Settings for the chat platform, read from the environment.

Every integration is switched on by its variable: ``DATABASE_URL`` (default: a
SQLite file), ``REDIS_URL`` (unset: the in-memory channel layer and a local
memory cache, good for one process; set: channels-redis and the Redis cache,
for several processes). See README.md for the full list.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY in the environment (or DEBUG=1 for a development key).")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105 - development only

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "csp",
    "axes",
    # Two-factor sign-in (chatplatform/mfa.py): TOTP authenticators and recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "visitors",
    "experts",
    "moderation",
    # /admin/analytics/: figures per brand and period for community managers (above moderation in the layers).
    "analytics",
    # Pictures in chat: the upload and download endpoints and the managers' removal (docs/protocol.md "Attachments").
    "attachments",
    # The background worker's queue (django-tasks' database backend) and chat_worker's own records.
    "django_tasks",
    "django_tasks_db",
    "chatplatform",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the database: a NUL in the path or a parameter is a 400 (PostgreSQL cannot store it).
    "chatplatform.middleware.RefuseUnstorableInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The reader's language from the django_language cookie or Accept-Language (docs/faces.md, "Languages").
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the session passed two-factor sign-in (django-otp).
    "django_otp.middleware.OTPMiddleware",
    # The admin refuses a staff session that has not (CHAT_MANAGER_MFA): set-up or verification first.
    "chatplatform.mfa.AdminTwoFactorMiddleware",
    # The reader's time zone from the `tz` cookie (an expert's profile language: experts/views.py expert_required).
    "chatplatform.i18n.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # A database error in a view: 503 and Retry-After, not a 500.
    "chatplatform.unavailable.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into a 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "chatplatform.urls"
ASGI_APPLICATION = "chatplatform.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
# Health checks: a connection kept since an earlier call is tested (one SELECT 1) and replaced if
# dead, e.g. after a failover terminated it. On the sockets' threads only when it may be dead:
# something arrived on its idle socket, or it sat idle longer than DB_HEALTH_CHECK_IDLE_SECONDS
# (chatplatform/db.py); a ping before every call doubled the read marks' round trips.
DATABASES = {"default": dj_database_url.parse(
    DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", True),
)}
DB_HEALTH_CHECK_IDLE_SECONDS = float(os.environ.get("DB_HEALTH_CHECK_IDLE_SECONDS", "10"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One process, several threads: wait for the write lock instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer and cache --------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# redis-py 8 caps an asyncio pool at 100 connections and then fails new
# handshakes with HTTP 500 under a burst; a chat server needs far more.
REDIS_MAX_CONNECTIONS = env_int("REDIS_MAX_CONNECTIONS", 10000)
# redis-py 8 reads with a 5 s socket timeout by default, and channels-redis
# waits on BZPOPMIN for exactly 5 s when nothing arrives: the two race, and the
# loser is a consumer whose receive raises TimeoutError, closing its socket
# (under load, every socket of the process). Read timeouts must exceed 5 s.
REDIS_SOCKET_TIMEOUT = float(os.environ.get("REDIS_SOCKET_TIMEOUT", "30"))
# How many events may wait for one socket before the layer drops the rest; a
# dropped message is recovered from the database through the seq gap.
CHANNEL_CAPACITY = env_int("CHANNEL_CAPACITY", 1000)

if REDIS_URL:
    _REDIS_HOSTS = [
        {
            "address": REDIS_URL,
            "max_connections": REDIS_MAX_CONNECTIONS,
            "socket_timeout": REDIS_SOCKET_TIMEOUT,
            "socket_keepalive": True,
        }
    ]
    # `pubsub` (default): one subscription per process, inboxes in memory; fewer Redis
    # round trips per event (chatplatform/layers.py, docs/performance.md).
    # `redis`: channels-redis's layer, each socket's inbox kept in Redis.
    CHANNEL_LAYER = os.environ.get("CHANNEL_LAYER", "pubsub")
    if CHANNEL_LAYER == "pubsub":
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "chatplatform.layers.ChatPubSubChannelLayer",
                "CONFIG": {
                    "hosts": _REDIS_HOSTS,
                    "capacity": CHANNEL_CAPACITY,
                    "prefix": os.environ.get("CHANNEL_PREFIX", "chat"),
                },
            }
        }
    elif CHANNEL_LAYER == "redis":
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "chatplatform.layers.ChatRedisChannelLayer",
                "CONFIG": {
                    "hosts": _REDIS_HOSTS,
                    "capacity": CHANNEL_CAPACITY,
                    "expiry": 60,
                    # No lower than the longest a socket lives without re-joining.
                    "group_expiry": 86400,
                    "prefix": os.environ.get("CHANNEL_PREFIX", "chat"),
                },
            }
        }
    else:
        raise ImproperlyConfigured("CHANNEL_LAYER must be `redis` or `pubsub`.")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_PREFIX", "chatcache"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": CHANNEL_CAPACITY}}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth ---------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out sign-in before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Django's database sessions, with the read each signed-in socket makes built once (chatplatform/sessions.py).
SESSION_ENGINE = "chatplatform.sessions"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/login/"
# Two-factor sign-in (TOTP with recovery codes, docs/security.md) is required of every staff account
# (community managers) and superuser: the admin and the moderation socket refuse a session without it.
# Off only for development (`make run` turns it off for its demo server): NEVER in production.
CHAT_MANAGER_MFA = env_bool("CHAT_MANAGER_MFA", True)
# Minutes between the password step and the code step of a sign-in before it starts over.
CHAT_TWO_FACTOR_PENDING_MINUTES = env_int("CHAT_TWO_FACTOR_PENDING_MINUTES", 10)
# The name authenticator apps show next to the code.
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "Community experts")
# Days an expert's invitation link stays valid (a resend starts them again and voids the old link).
CHAT_INVITATION_DAYS = env_int("CHAT_INVITATION_DAYS", 7)
# Seconds a password-reset link stays valid (Django's own setting; default 3 days, ours 1 hour).
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3600)
# Password-reset requests per address (keyed hash) and per e-mail address entered, per hour;
# past them the page answers 429 whether or not an account exists.
CHAT_PASSWORD_RESET_PER_ADDRESS = env_int("CHAT_PASSWORD_RESET_PER_ADDRESS", 10)
CHAT_PASSWORD_RESET_PER_EMAIL = env_int("CHAT_PASSWORD_RESET_PER_EMAIL", 3)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: its password_changed hook closes the expert's open sockets.
    {"NAME": "experts.revocation.CloseSocketsOnPasswordChange"},
]

# --- E-mail -------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
# The file backend's folder (EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend).
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
# Seconds an SMTP connect, greeting or reply may take: a hung mail server fails the
# worker's task (retried later) instead of holding it. Mail never leaves from a socket's path.
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "chat@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Background work (chatplatform/worker.py, `manage.py chat_worker`) ----------------------
# Tasks are rows in the database, written in the transaction that caused them (docs/architecture.md).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Run the worker inside the server process (daphne) instead of `manage.py chat_worker`: for the
# in-memory channel layer (one process, `make run`), where only the server's own events reach its sockets.
CHAT_WORKER_IN_SERVER = env_bool("CHAT_WORKER_IN_SERVER")
# Seconds the worker sleeps when nothing is due.
CHAT_WORKER_INTERVAL_SECONDS = float(os.environ.get("CHAT_WORKER_INTERVAL_SECONDS", "1"))
# A failing task runs again after CHAT_WORKER_RETRY_SECONDS, then twice that, ... (capped at an
# hour), CHAT_WORKER_MAX_ATTEMPTS runs in all; then it stays failed (logged, in the admin).
CHAT_WORKER_MAX_ATTEMPTS = env_int("CHAT_WORKER_MAX_ATTEMPTS", 5)
CHAT_WORKER_RETRY_SECONDS = float(os.environ.get("CHAT_WORKER_RETRY_SECONDS", "30"))
# A task still marked running this long after it started belongs to a worker that died
# (killed, machine lost): it is run again. Far longer than any task takes (EMAIL_TIMEOUT bounds mail).
CHAT_WORKER_LEASE_SECONDS = float(os.environ.get("CHAT_WORKER_LEASE_SECONDS", "300"))
# The sweeps: scheduled work of the same worker, each run by one worker at a time
# (name: (function, every so many seconds)).
CHAT_WORKER_SWEEPS = {
    "presence": ("visitors.tasks.mark_vanished_visitors_away", env_int("CHAT_SWEEP_PRESENCE_SECONDS", 60)),
    "inactive": ("visitors.tasks.end_inactive_conversations", env_int("CHAT_SWEEP_INACTIVE_SECONDS", 60)),
    "unanswered": ("visitors.tasks.close_unanswered_questions", env_int("CHAT_SWEEP_UNANSWERED_SECONDS", 300)),
    "retention": ("moderation.tasks.purge_expired_personal_data", env_int("CHAT_SWEEP_RETENTION_SECONDS", 3600)),
    # Web Push to experts with no dashboard open (experts/tasks.py): a push comes this late at most.
    "push": ("experts.tasks.push_sweep", env_int("CHAT_SWEEP_PUSH_SECONDS", 10)),
    "digest": ("experts.tasks.digest_sweep", env_int("CHAT_SWEEP_DIGEST_SECONDS", 300)),
    "followup": ("visitors.followups.queue_due_followups", env_int("CHAT_SWEEP_FOLLOWUP_SECONDS", 30)),
    # Topic routing (experts/topic_routing.py): a question past its brand's topic_wait_seconds is offered to
    # the whole brand at most this late (plus one worker pass).
    "topic_offers": ("experts.topic_routing.widen_topic_offers", env_int("CHAT_SWEEP_TOPIC_OFFERS_SECONDS", 5)),
}

# --- Experts who are not looking: Web Push and the e-mail digest (experts/tasks.py) ------------
# The VAPID key pair (`manage.py vapid_keys` prints one): the public key, base64url (the browser's
# applicationServerKey), and the private key, base64url or PEM. Unset: no "Notify me", no push.
VAPID_PUBLIC_KEY = os.environ.get("VAPID_PUBLIC_KEY", "")
VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY", "")
# Who push services may contact about our pushes: "mailto:ops@example.com" or an https URL.
VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT", "mailto:" + os.environ.get("DEFAULT_FROM_EMAIL", "chat@localhost"))
# At most one push per expert per conversation in this many seconds (a visitor writing on is one push).
CHAT_PUSH_MIN_INTERVAL_SECONDS = env_int("CHAT_PUSH_MIN_INTERVAL_SECONDS", 120)
# Seconds a push service may take to answer; the worker's task fails and is retried after that.
CHAT_PUSH_TIMEOUT_SECONDS = float(os.environ.get("CHAT_PUSH_TIMEOUT_SECONDS", "10"))
# Push endpoints are https (every browser's push service is); the tests' local push service is http.
CHAT_PUSH_ENDPOINT_SCHEMES = ("https",)
# An expert who switched the digest on gets it at most this often, and only when a question is new.
CHAT_EXPERT_DIGEST_MINUTES = env_int("CHAT_EXPERT_DIGEST_MINUTES", 60)

# --- Visitors' e-mail (visitors/followups.py, docs/security.md) ----------------------------
# The address e-mails link to (the resume and unsubscribe pages): this site as visitors reach it.
CHAT_PUBLIC_URL = os.environ.get("CHAT_PUBLIC_URL", "http://localhost:8000").rstrip("/")
# An expert's answer the visitor has not read this long after it was stored, while they are away,
# is e-mailed to them (if they gave an address); at most one e-mail per conversation per interval.
CHAT_FOLLOWUP_DELAY_SECONDS = env_int("CHAT_FOLLOWUP_DELAY_SECONDS", 120)
CHAT_FOLLOWUP_MIN_INTERVAL_SECONDS = env_int("CHAT_FOLLOWUP_MIN_INTERVAL_SECONDS", 900)
# Days an e-mail's link reopens the conversation.
CHAT_FOLLOWUP_LINK_DAYS = env_int("CHAT_FOLLOWUP_LINK_DAYS", 14)

# --- Internationalisation -----------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
# The languages with a complete catalogue (locale/<code>/LC_MESSAGES, built by `manage.py build_catalogues`);
# adding one is docs/operations.md, "Adding a language".
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True
# One date format everywhere (the admin's lists, change pages and the console): 2026-12-06 13:05.
FORMAT_MODULE_PATH = ["chatplatform.formats"]

# --- Static files -------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Uploaded files (brand logos) go through the "default" storage above; with the file system, here.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
# The largest logo file the Brand admin takes (it is then re-encoded, at most 256 px: visitors/look.py).
CHAT_BRAND_LOGO_MAX_BYTES = env_int("CHAT_BRAND_LOGO_MAX_BYTES", 2 * 1024 * 1024)

# --- Picture attachments (docs/operations.md, "Pictures") -----------------------
# Kept through Django's storage API: by default files under CHAT_MEDIA_ROOT, outside anything
# served as static (every download goes through attachments/views.py's checks). An S3-compatible
# store: CHAT_ATTACHMENT_STORAGE=storages.backends.s3.S3Storage and its AWS_* settings (django-storages).
CHAT_MEDIA_ROOT = Path(os.environ.get("CHAT_MEDIA_ROOT") or BASE_DIR / "var" / "media")
CHAT_ATTACHMENT_STORAGE = os.environ.get("CHAT_ATTACHMENT_STORAGE", "django.core.files.storage.FileSystemStorage")
STORAGES["attachments"] = {
    "BACKEND": CHAT_ATTACHMENT_STORAGE,
    "OPTIONS": {"location": str(CHAT_MEDIA_ROOT), "directory_permissions_mode": 0o700, "file_permissions_mode": 0o600}
    if CHAT_ATTACHMENT_STORAGE.endswith("FileSystemStorage") else {},
}
# The largest upload accepted (the file as sent), refused with `too_large` (413).
CHAT_ATTACHMENT_MAX_BYTES = env_int("CHAT_ATTACHMENT_MAX_BYTES", 8 * 1024 * 1024)
# The most pixels a picture may have (width x height), read from its header before decoding:
# a decompression bomb is refused without allocating it. 50 MP: the largest common phone photos.
CHAT_ATTACHMENT_MAX_PIXELS = env_int("CHAT_ATTACHMENT_MAX_PIXELS", 50_000_000)
# The longer side of a thumbnail, in pixels.
CHAT_ATTACHMENT_THUMBNAIL_PIXELS = env_int("CHAT_ATTACHMENT_THUMBNAIL_PIXELS", 320)
# How long a signed picture URL in a `message` frame works; a reconnect, `sync` or history signs anew.
CHAT_ATTACHMENT_URL_SECONDS = env_int("CHAT_ATTACHMENT_URL_SECONDS", 4 * 3600)
# Uploads never sent in a message are deleted (files and rows) by the retention sweep after this long.
CHAT_ATTACHMENT_UNSENT_HOURS = env_int("CHAT_ATTACHMENT_UNSENT_HOURS", 24)

# --- Security headers (production) --------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    # HTTPS only: plain HTTP is redirected (the health check excepted, for load balancers) and
    # browsers are told to stay on HTTPS. SECURE_SSL_REDIRECT=0 where TLS ends elsewhere without
    # X-Forwarded-Proto, and in the tests' plain-HTTP servers.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# --- Content-Security-Policy (django-csp 4) ---------------------------------------
# Scripts, connections and frames from our own origin only, and never framed
# elsewhere; the widget page alone replaces `frame-ancestors` with its brand's
# origins (visitors.views.widget). Avatars are any https image an expert links.
from csp.constants import NONE, SELF, UNSAFE_INLINE  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # The Django admin sets a few inline style attributes; scripts stay strict.
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "https:"],
        "connect-src": [SELF],
        "frame-src": [SELF],
        # The experts' push service worker (static/experts/push-sw.js).
        "worker-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Sign-in throttling (django-axes) -------------------------------------------
# After AXES_FAILURE_LIMIT failed sign-ins for one username from one address, that
# pair is locked out (HTTP 429) for AXES_COOLOFF_TIME; after as many from one address
# across usernames, the address is. Counts live in the cache
# (Redis when REDIS_URL is set, so every process shares them), never in a table
# of raw addresses; the address axes sees is our keyed hash of it, so neither
# its cache keys nor its log lines hold an address.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
# Two counts, each locking at AXES_FAILURE_LIMIT: one username from one address, and one address
# whatever the usernames (spraying many usernames from one address is throttled too).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_CLIENT_IP_CALLABLE = "chatplatform.addresses.request_address_key"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
if not REDIS_URL:
    # Embedded default, one process: the local-memory cache does hold every count
    # (axes warns because several processes would not share it; with REDIS_URL they do).
    SILENCED_SYSTEM_CHECKS = ["axes.W001"]

# --- The chat itself ----------------------------------------------------------
# Key for the keyed hashes of network addresses; defaults to one derived from SECRET_KEY.
ADDRESS_HASH_KEY = os.environ.get("ADDRESS_HASH_KEY", "")
# Keys used before the current one (comma-separated): blocks by address made
# under them still hold while they are listed. Drop a key once its blocks expire.
ADDRESS_HASH_PREVIOUS_KEYS = env_list("ADDRESS_HASH_PREVIOUS_KEYS")
# Ended conversations' personal data (texts, nicknames, report e-mails, address
# hashes) is purged this many days after they end: `manage.py purge_personal_data`.
RETENTION_DAYS = env_int("RETENTION_DAYS", 180)
# The request header that carries the client's address when behind a proxy,
# e.g. "X-Forwarded-For". Unset: the socket's peer address, never a header.
CLIENT_ADDRESS_HEADER = os.environ.get("CLIENT_ADDRESS_HEADER", "")
# How many proxies in front of us append to that header (the address taken is
# the one that many places from the right).
CLIENT_ADDRESS_PROXY_COUNT = env_int("CLIENT_ADDRESS_PROXY_COUNT", 1)
# An IPv6 client counts as its network of this prefix length (blocks, flood limits and
# open-socket caps alike): a phone rotates its address within its /64 at will. 128: the
# single address. IPv4 (and IPv4-mapped IPv6) always counts as the single address.
CHAT_IPV6_PREFIX = env_int("CHAT_IPV6_PREFIX", 64)
CHAT_MAX_FRAME_BYTES = 16 * 1024
CHAT_MAX_TEXT_LENGTH = 2000
CHAT_HELLO_TIMEOUT_SECONDS = float(os.environ.get("CHAT_HELLO_TIMEOUT_SECONDS", "10"))
# Most messages one `messages` or `welcome` frame carries; the client asks again.
CHAT_SYNC_PAGE_SIZE = env_int("CHAT_SYNC_PAGE_SIZE", 500)
# Threads (each with its own connection) running the sockets' database work on
# PostgreSQL; 1 restores Channels' single database thread. See chatplatform/db.py.
CHAT_DB_THREADS = env_int("CHAT_DB_THREADS", 8)
# PostgreSQL: chat messages are stored from the event loop on a pool of this many psycopg async
# connections (chatplatform/asyncdb.py), not through the threads; CHAT_ASYNC_DB=0 turns it off.
CHAT_ASYNC_DB = env_bool("CHAT_ASYNC_DB", True)
# Check every frame a socket sends against its declaration (chatplatform/protocol.py *_OUTBOUND);
# on in the tests, off in production (a model validated per delivered message costs CPU).
CHAT_CHECK_FRAMES = env_bool("CHAT_CHECK_FRAMES", False)
CHAT_ASYNC_DB_CONNECTIONS = env_int("CHAT_ASYNC_DB_CONNECTIONS", 4)
# How long a message waits for one of those connections before the thread's path takes it.
CHAT_ASYNC_DB_WAIT_SECONDS = float(os.environ.get("CHAT_ASYNC_DB_WAIT_SECONDS", "5"))
# How long a server process reuses a brand it read for the visitor socket's
# handshake (origins, texts, topics); 0 reads it for every socket.
CHAT_BRAND_CACHE_SECONDS = float(os.environ.get("CHAT_BRAND_CACHE_SECONDS", "10"))
# How long the visitor handshakes of a process share one count of a brand's online experts (0: count for each).
CHAT_ONLINE_COUNT_SECONDS = float(os.environ.get("CHAT_ONLINE_COUNT_SECONDS", "2"))
# An open widget hears `experts.online` when that count changes: a process counts at most once per
# this many seconds per brand, however many experts come and go (visitors/experts_online.py).
CHAT_ONLINE_PUSH_SECONDS = float(os.environ.get("CHAT_ONLINE_PUSH_SECONDS", "1"))
# An expert's socket re-announces itself this often; one silent three times as
# long (a killed process) no longer counts as online.
CHAT_PRESENCE_HEARTBEAT_SECONDS = env_int("CHAT_PRESENCE_HEARTBEAT_SECONDS", 30)
# The youngest generation's garbage-collection threshold for a server process, and a gc.freeze()
# of what is loaded at start (chatplatform/gc_tuning.py); 0 keeps CPython's defaults.
CHAT_GC_GEN0_THRESHOLD = env_int("CHAT_GC_GEN0_THRESHOLD", 50_000)
# The process's expert sockets beat in this many slices spread over the interval (experts/heartbeats.py).
CHAT_PRESENCE_HEARTBEAT_SLICES = env_int("CHAT_PRESENCE_HEARTBEAT_SLICES", 10)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # A refused request (403, 400) is one line, without its traceback (chatplatform/log_filters.py).
    "filters": {"refusals": {"()": "chatplatform.log_filters.RefusalsWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["refusals"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own default config gives "django" a console handler of its own (DEBUG only) that
        # also propagates to the root: every line of it was printed twice. The root's handler is enough.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        # chat_worker runs its pass every second: not a "Starting worker" line each time.
        "django_tasks_db": {"level": "WARNING"},
    },
}

# --- Moderation -----------------------------------------------------------------
# Moving-window limits (the `limits` library's notation), per visitor and per
# network address; over a limit the frame gets `rate_limited` and is not stored.
FLOOD_LIMITS = {
    "message": {"visitor": os.environ.get("FLOOD_MESSAGES_PER_VISITOR", "20/10 seconds"),
                "address": os.environ.get("FLOOD_MESSAGES_PER_ADDRESS", "60/10 seconds")},
    "conversation_start": {"visitor": os.environ.get("FLOOD_STARTS_PER_VISITOR", "6/hour"),
                           "address": os.environ.get("FLOOD_STARTS_PER_ADDRESS", "30/hour")},
    "new_visitor": {"address": os.environ.get("FLOOD_NEW_VISITORS_PER_ADDRESS", "30/hour")},
    "connection": {"visitor": os.environ.get("FLOOD_SOCKETS_PER_VISITOR", "30/minute"),
                   "address": os.environ.get("FLOOD_SOCKETS_PER_ADDRESS", "120/minute")},
    "report": {"visitor": os.environ.get("FLOOD_REPORTS_PER_VISITOR", "5/hour"),
               "address": os.environ.get("FLOOD_REPORTS_PER_ADDRESS", "20/hour")},
    # Every other frame that costs a write, a push or a large answer (docs/moderation.md, "Flood
    # control"): a `sync` answers up to CHAT_SYNC_PAGE_SIZE messages (~1 MB) for a few bytes in.
    "typing": {"visitor": os.environ.get("FLOOD_TYPING_PER_VISITOR", "30/10 seconds"),
               "address": os.environ.get("FLOOD_TYPING_PER_ADDRESS", "150/10 seconds")},
    "read": {"visitor": os.environ.get("FLOOD_READS_PER_VISITOR", "60/10 seconds"),
             "address": os.environ.get("FLOOD_READS_PER_ADDRESS", "300/10 seconds")},
    "sync": {"visitor": os.environ.get("FLOOD_SYNCS_PER_VISITOR", "12/minute"),
             "address": os.environ.get("FLOOD_SYNCS_PER_ADDRESS", "60/minute")},
    "conversation_end": {"visitor": os.environ.get("FLOOD_ENDS_PER_VISITOR", "10/minute"),
                         "address": os.environ.get("FLOOD_ENDS_PER_ADDRESS", "60/minute")},
    "rating": {"visitor": os.environ.get("FLOOD_RATINGS_PER_VISITOR", "10/hour"),
               "address": os.environ.get("FLOOD_RATINGS_PER_ADDRESS", "60/hour")},
    "data_export": {"visitor": os.environ.get("FLOOD_EXPORTS_PER_VISITOR", "5/hour"),
                    "address": os.environ.get("FLOOD_EXPORTS_PER_ADDRESS", "20/hour")},
    "contact": {"visitor": os.environ.get("FLOOD_CONTACTS_PER_VISITOR", "10/hour"),
                "address": os.environ.get("FLOOD_CONTACTS_PER_ADDRESS", "60/hour")},
    "transcript": {"visitor": os.environ.get("FLOOD_TRANSCRIPTS_PER_VISITOR", "3/hour"),
                   "address": os.environ.get("FLOOD_TRANSCRIPTS_PER_ADDRESS", "20/hour")},
    # The expert and moderation sockets, per signed-in user.
    "expert_message": {"user": os.environ.get("FLOOD_EXPERT_MESSAGES_PER_USER", "60/10 seconds")},
    "expert_typing": {"user": os.environ.get("FLOOD_EXPERT_TYPING_PER_USER", "60/10 seconds")},
    "expert_read": {"user": os.environ.get("FLOOD_EXPERT_READS_PER_USER", "120/10 seconds")},
    "expert_sync": {"user": os.environ.get("FLOOD_EXPERT_SYNCS_PER_USER", "60/minute")},
    "expert_action": {"user": os.environ.get("FLOOD_EXPERT_ACTIONS_PER_USER", "60/minute")},
    "presence": {"user": os.environ.get("FLOOD_PRESENCE_PER_USER", "20/minute")},
    "moderation_action": {"user": os.environ.get("FLOOD_MODERATION_ACTIONS_PER_USER", "30/minute")},
    "alert_ack": {"user": os.environ.get("FLOOD_ALERT_ACKS_PER_USER", "120/minute")},
    # POST /attachments/ (each picture costs a decode and two encodes): visitors, their addresses, experts.
    "upload": {"visitor": os.environ.get("FLOOD_UPLOADS_PER_VISITOR", "10/minute"),
               "address": os.environ.get("FLOOD_UPLOADS_PER_ADDRESS", "30/minute"),
               "user": os.environ.get("FLOOD_UPLOADS_PER_USER", "20/minute")},
}
# How many times a visitor may change a conversation's rating after giving it (the same rating
# again changes nothing and does not count).
CHAT_RATING_CHANGES = env_int("CHAT_RATING_CHANGES", 3)
FLOOD_KEY_PREFIX = os.environ.get("FLOOD_KEY_PREFIX", "chatflood")
# The flood checks' own Redis pool per process (moderation/flood.py): past this many
# connections a check waits for one, up to FLOOD_REDIS_WAIT_SECONDS, then fails open.
FLOOD_REDIS_CONNECTIONS = env_int("FLOOD_REDIS_CONNECTIONS", 64)
FLOOD_REDIS_WAIT_SECONDS = float(os.environ.get("FLOOD_REDIS_WAIT_SECONDS", "5"))
# Visitor sockets open AT ONCE (not per minute), per visitor and per network
# address, counted across all processes; 0 turns a cap off. Over a cap the new
# socket gets `rate_limited` and is closed with 4429.
FLOOD_OPEN_SOCKETS = {
    "visitor": env_int("FLOOD_OPEN_SOCKETS_PER_VISITOR", 10),
    "address": env_int("FLOOD_OPEN_SOCKETS_PER_ADDRESS", 50),
}
# How often each visitor socket re-checks in the database that no block covers
# it (the `visitor.blocked` event may be lost) and refreshes its place in the
# open-socket counts; a place not refreshed for three times this is dropped.
# Changes to one queued conversation (queue.updated, to every online expert of the brand) leave at
# most once per this window, the last state always (chatplatform/events.py): faster than anyone reads.
CHAT_COALESCE_SECONDS = float(os.environ.get("CHAT_COALESCE_SECONDS", "1"))
CHAT_VISITOR_HEARTBEAT_SECONDS = float(os.environ.get("CHAT_VISITOR_HEARTBEAT_SECONDS", "20"))
# The heartbeat's block re-check reads a brand's active blocks once per process per this many
# seconds for all its sockets (moderation/block_index.py); 0 reads at every beat.
CHAT_BLOCK_INDEX_SECONDS = float(os.environ.get("CHAT_BLOCK_INDEX_SECONDS", "5"))
# Flagged messages in one conversation that raise an automatic alert.
ABUSE_ALERT_THRESHOLD = env_int("ABUSE_ALERT_THRESHOLD", 3)
# Longest block an expert may set, in hours (null in the frame: until lifted).
MAX_BLOCK_HOURS = env_int("MAX_BLOCK_HOURS", 24 * 365)
