"""The product's settings, plus what only the benchmark needs: a bare JSON endpoint (the baseline of
the same server) and a header counting the SQL queries each request made."""

from brainstorm.settings import *  # noqa: F403
from brainstorm.settings import MIDDLEWARE

ROOT_URLCONF = "bench.urls"
# First, so it counts every query of the request, the authentication's included.
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]
