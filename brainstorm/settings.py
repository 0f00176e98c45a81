"""Settings for Brainstorm, read from the environment (and a local `.env`, if present).

Every variable is documented in README.md and `.env.example`.
"""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from common.env import channel_layers, env_networks, env_seb_keys
from common.error_tracking import error_tracking_init

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file() and not env.bool("BRAINSTORM_IGNORE_DOTENV", default=False):
    # Values already in the process environment win over the file.
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY or SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 32 characters "
        "(`python -c 'import secrets; print(secrets.token_urlsafe(50))'`). "
        "`make run` writes one into .env for local use."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])


# Empty means every address may use the event.
ALLOWED_CIDR = env_networks(env, "ALLOWED_CIDR")
# X-Forwarded-For is believed only from these proxies.
TRUSTED_PROXIES = env_networks(env, "TRUSTED_PROXIES")
# /metrics (Prometheus) answers `Authorization: Bearer <METRICS_TOKEN>`, or these addresses; else nobody.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_CIDR = env_networks(env, "METRICS_ALLOWED_CIDR")

EVENT_TIMEZONE = env.str("EVENT_TIMEZONE", default="Asia/Jakarta")
EVENT_CURRENCY = env.str("EVENT_CURRENCY", default="")
OVERLAY_TOKEN = env.str("OVERLAY_TOKEN", default="")
# A hard switch: when false, sign-up is closed whatever the event settings say.
SIGNUP_OPEN = env.bool("SIGNUP_OPEN", default=True)


# Safe Exam Browser lock (common.middleware.SafeExamBrowserMiddleware): with either list set,
# team pages and the API answer only SEB started with one of these keys. Empty: no lock.
SEB_BROWSER_EXAM_KEYS = env_seb_keys(env, "SEB_BROWSER_EXAM_KEYS")
SEB_CONFIG_KEYS = env_seb_keys(env, "SEB_CONFIG_KEYS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "import_export",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "brainstorm",  # project-wide commands (migrate_locked)
    "accounts",
    "market",
    "newsroom",
    "overlay",
    "organisers",
]

# Background jobs (SPEC §6: a big team import, the results workbook): Django's Tasks framework on
# the database, so embedded SQLite and PostgreSQL alike need nothing more; `manage.py db_worker`
# runs them (`make run` starts one beside the server, docker-compose.yml a `worker` service).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# A team import of more rows than this runs as a job (202 with the job); smaller ones at once.
IMPORT_JOB_ROWS = env.int("IMPORT_JOB_ROWS", default=200)
# A job that has told nothing for this long while running is taken for dead (its worker killed):
# marked failed with why (an import writes in one transaction: nothing of it was kept).
JOB_STALE_SECONDS = env.int("JOB_STALE_SECONDS", default=120)

MIDDLEWARE = [
    # Outermost: the request id (X-Request-ID), then on the way out the request's log line and
    # metrics, whatever answered (a refusal below, an error page).
    "common.logs.RequestLogMiddleware",
    # First: the client's address (X-Forwarded-For, and X-Forwarded-Proto, only from
    # TRUSTED_PROXIES), before anything asks whether the request is HTTPS or who sent it.
    "common.network.ClientAddressMiddleware",
    # /metrics for the monitoring, answered here: it scrapes each server by its address (no host
    # name to check, no HTTPS inside the network) and from outside the venue's allow-list.
    "common.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Near the top, so every answer gets the policy, the refusals below included.
    "common.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The venue's ranges (static files above stay public: they hold nothing of the event).
    "common.network.AllowListMiddleware",
    "common.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "common.middleware.SafeExamBrowserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a sign-in that axes locked out into our 429 (accounts.throttles.axes_lockout).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "brainstorm.urls"
WSGI_APPLICATION = "brainstorm.wsgi.application"
ASGI_APPLICATION = "brainstorm.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "market.context_processors.event",
            ],
        },
    },
]

# Database: SQLite file by default (a demo or a small event), PostgreSQL in production.
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so a
    # burst of trades queues on the busy timeout instead of failing with "database is locked".
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=30),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    # A file, not memory, so tests can use several connections (threads) at once; one per
    # process, so two test runs never share it.
    _db["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"brainstorm-test-{os.getpid()}.sqlite3")}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django requires 0 with it
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=20),
        "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
    }
_db["ATOMIC_REQUESTS"] = False

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# Live events (common.env.channel_layers): how many may wait for one receiver, for a server
# process's hub (everything its sockets hear, for a loop that stalls a few seconds), and for how
# long (a client reconnecting after that rebuilds from a fresh snapshot anyway). An SSE stream
# that falls CHANNEL_CAPACITY events behind ends and its client reconnects (overlay.sse).
REDIS_URL = env.str("REDIS_URL", default="")
CHANNEL_CAPACITY = env.int("CHANNEL_CAPACITY", default=1000)
LIVE_HUB_CAPACITY = env.int("LIVE_HUB_CAPACITY", default=10_000)
CHANNEL_EXPIRY = env.int("CHANNEL_EXPIRY", default=30)
# Channel layers forget a group membership after a day; the hub joins its groups again this often.
LIVE_HUB_REFRESH_SECONDS = env.float("LIVE_HUB_REFRESH_SECONDS", default=3600.0)
CHANNEL_LAYER_SOCKET_TIMEOUT = env.float("CHANNEL_LAYER_SOCKET_TIMEOUT", default=30.0)
CHANNEL_LAYERS = channel_layers(
    REDIS_URL,
    capacity=CHANNEL_CAPACITY,
    hub_capacity=LIVE_HUB_CAPACITY,
    expiry=CHANNEL_EXPIRY,
    socket_timeout=CHANNEL_LAYER_SOCKET_TIMEOUT,
)
# One connection's delivery (overlay.delivery): while the server holds more than
# LIVE_HIGH_WATER_BYTES written to it that its client has not taken, its events wait (a newer price
# or leaderboard replacing the one waiting); more than CHANNEL_CAPACITY waiting closes it (4408).
# The operating system's own buffer for a live socket is kept to LIVE_SEND_BUFFER_BYTES (Linux
# doubles it): left to itself it grows to megabytes for a slow reader, a backlog nothing can fold.
LIVE_HIGH_WATER_BYTES = env.int("LIVE_HIGH_WATER_BYTES", default=16_384)
LIVE_SEND_BUFFER_BYTES = env.int("LIVE_SEND_BUFFER_BYTES", default=16_384)
# At most one leaderboard event per this many seconds (the last change is always sent).
LEADERBOARD_EVENT_INTERVAL = env.float("LEADERBOARD_EVENT_INTERVAL", default=1.0)
# At most one `rank` event per team per this many seconds (the last change is always sent).
RANK_EVENT_INTERVAL = env.float("RANK_EVENT_INTERVAL", default=2.0)
SSE_HEARTBEAT_SECONDS = env.float("SSE_HEARTBEAT_SECONDS", default=15.0)
SCHEDULER_INTERVAL_SECONDS = env.float("SCHEDULER_INTERVAL_SECONDS", default=1.0)
# Waiting orders fill on the process's order desk once a price change commits (market.services.desk);
# "inline": in the changing request's own thread, after its commit (the tests).
ORDER_FILLS = env.str("ORDER_FILLS", default="background")
# The scheduler answers /metrics on this port (0: not at all), under the METRICS_* rule below.
SCHEDULER_METRICS_PORT = env.int("SCHEDULER_METRICS_PORT", default=0)

PASSWORD_HASHERS = [
    "accounts.hashers.Argon2PasswordHasher",  # Argon2id, OWASP settings (accounts/hashers.py)
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:signin"
LOGIN_REDIRECT_URL = "market:dashboard"

LANGUAGE_CODE = "en"
TIME_ZONE = EVENT_TIMEZONE  # display time zone; the database keeps UTC
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Front-end libraries come from npm (`make install` runs `npm ci`); nothing vendored in git.
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# In development whitenoise serves straight from the app folders, no collectstatic needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

REST_FRAMEWORK = {
    # Token first so an anonymous request gets 401 with a WWW-Authenticate challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "market.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["common.parsers.DecimalJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "common.problems.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_RATES": {
        "signup": env.str("THROTTLE_SIGNUP", default="30/min"),
        # Per team: far above what a team clicks, low enough to stop a runaway script.
        "trades": env.str("THROTTLE_TRADES", default="300/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Throttles key anonymous clients by the socket address: with None, DRF would believe any
    # X-Forwarded-For a client sends and let it escape the sign-in throttle.
    "NUM_PROXIES": 0,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Brainstorm API",
    "DESCRIPTION": "Live virtual stock-trading competitions for school teams.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the installed package, not a CDN: venues may have no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two `status` fields with their own choices: each enum named for what it is.
    "ENUM_NAME_OVERRIDES": {
        "MarketStatusEnum": ["open", "closed"],
        "OrderStatusEnum": "market.models.OrderStatus",
        "JobStartKindEnum": ["results"],
        "OrderKindEnum": "market.models.OrderKind",
    },
}

# Sign-in: only failures count, per address and e-mail, and per address (accounts/throttles.py).
SIGNIN_FAILURES_PER_ACCOUNT = env.int("SIGNIN_FAILURES_PER_ACCOUNT", default=10)
SIGNIN_LOCKOUT_SECONDS = env.int("SIGNIN_LOCKOUT_SECONDS", default=900)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out (e-mail, address) pair first
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = SIGNIN_FAILURES_PER_ACCOUNT
AXES_COOLOFF_TIME = timedelta(seconds=SIGNIN_LOCKOUT_SECONDS)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A try during a lock-out does not restart it: a rival could otherwise keep a team out forever.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_CALLABLE = "accounts.throttles.axes_username"
AXES_CLIENT_IP_CALLABLE = "accounts.throttles.axes_client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.throttles.axes_lockout"
AXES_VERBOSE = False

# Spreadsheet imports (teams, companies, news): limits that keep one upload from hurting the server.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=5_000_000)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=10_000)
IMPORT_EXPORT_FORMATS = ["organisers.spreadsheets.SafeCSV", "organisers.spreadsheets.SafeXLSX"]
# The admin's two-step import keeps the upload in the cache, not on one server's disk.
IMPORT_EXPORT_TMP_STORAGE_CLASS = "organisers.spreadsheets.UploadStorage"

# Throttle counters, the admin's import uploads and who is online (overlay/presence.py) live in the
# cache: with REDIS_URL every server process shares them; without, each process has its own.
# A Redis that stops answering costs a request at most CACHE_SOCKET_TIMEOUT seconds a call (the
# trade allowance then lets the order through, the read cache reads the database), not for ever.
CACHE_SOCKET_TIMEOUT = env.float("CACHE_SOCKET_TIMEOUT", default=5.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "common.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": CACHE_SOCKET_TIMEOUT, "socket_timeout": CACHE_SOCKET_TIMEOUT},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The hot public reads (companies, news, leaderboard, market) from the cache, renewed by every change
# (common.read_cache). Only a shared cache hears the scheduler's changes: on with REDIS_URL.
READ_CACHE = env.bool("READ_CACHE", default=bool(REDIS_URL))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# No script of ours reads the CSRF cookie: forms carry the token, and the API docs get it in the page.
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "common.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp), in development too. Our pages have no inline script, style
# or event handler. NONCE appears in the header only on a page that uses it: the API docs (Swagger
# UI's start-up script and style, templates/drf_spectacular/swagger_ui.html). The middleware adds
# ws:// and wss:// of the page's host to connect-src, for the live socket (/api/ws).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],  # the overlay's empty favicon, Swagger UI's icons
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^api/health$"]  # the load balancer probes over plain HTTP
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None

# Logs on stdout. JSON, one object a line, in production (common.logs); plain text while
# developing. LOG_FORMAT (json or text) overrides.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "common.logs.RequestContextFilter"}},
    "formatters": {
        "json": {"()": "common.logs.JsonLogFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "filters": ["request"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # A refusal (4xx) is in the request's own line already; server errors still come with
        # their traceback and request id.
        "django.request": {"level": "ERROR"},
    },
}

# Error tracking (Sentry), only with a DSN; no personal data in reports unless asked for.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="")
SENTRY_SEND_PII = env.bool("SENTRY_SEND_PII", default=False)
SENTRY_ENABLED = error_tracking_init(
    dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, release=SENTRY_RELEASE, send_default_pii=SENTRY_SEND_PII
)
