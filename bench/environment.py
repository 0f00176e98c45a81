"""The benchmark's environment: the servers' settings and this client's, set before Django starts.
Imported first by everything in bench that touches Django."""

import os
import secrets

OVERLAY_TOKEN = secrets.token_urlsafe(24)
METRICS_TOKEN = secrets.token_urlsafe(24)  # the event-day scenario counts requests by route
ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/brainstorm_bench"),
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
    "SECRET_KEY": secrets.token_urlsafe(50),
    "OVERLAY_TOKEN": OVERLAY_TOKEN,
    "METRICS_TOKEN": METRICS_TOKEN,
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DEBUG": "false",
    "SECURE_SSL_REDIRECT": "false",
    "BRAINSTORM_IGNORE_DOTENV": "true",
    "LOG_LEVEL": "WARNING",  # this client's own (it creates the data through the services)
}
os.environ.update(ENV)
# The servers log as in production: a JSON line per request and per trade (into bench/logs).
SERVER_ENV = {**ENV, "LOG_LEVEL": "INFO"}

import django  # noqa: E402

django.setup()
