"""Settings for the test suite: the real settings with a fast password hasher.

DATABASE_URL and REDIS_URL still choose the database and channel layer, so the same suite
runs on SQLite with the in-memory layer and on PostgreSQL with Redis.
"""

import os

os.environ["BRAINSTORM_IGNORE_DOTENV"] = "true"
os.environ.setdefault("SECRET_KEY", "test-suite-only-key-not-used-anywhere-else-0123456789")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("OVERLAY_TOKEN", "test-overlay-token")
# Leaderboard and rank events at once, never from a timer thread that could outlive its test (the
# coalescing itself is tested on its own Coalescer).
os.environ.setdefault("LEADERBOARD_EVENT_INTERVAL", "0")
os.environ.setdefault("RANK_EVENT_INTERVAL", "0")

from brainstorm.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Every read the suite makes goes through the read cache (one process: its own memory is enough),
# so a change that forgets to renew what it changed fails the test that reads it back.
READ_CACHE = True

# Serve static files from the app folders: tests never run collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
