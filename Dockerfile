# syntax=docker/dockerfile:1
# Brainstorm: one image for the web server (Daphne), the scheduler and the management commands.
# Build: docker build -t brainstorm .   Run: see docker-compose.yml.

# Front-end libraries (the chart library), exactly as package-lock.json pins them.
FROM node:20.20.2-bookworm-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM python:3.11.15-slim-bookworm

# DATABASE_URL: without one the app would put SQLite in /app, which the app user may not
# write (the code stays root-owned); /app/data is its own. docker-compose.yml sets PostgreSQL.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite:////app/data/db.sqlite3

WORKDIR /app

RUN groupadd --system --gid 10001 brainstorm \
 && useradd --system --uid 10001 --gid brainstorm --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin brainstorm

# Dependencies first, so code changes do not reinstall them.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
COPY --from=assets /assets/node_modules ./node_modules

# Settings refuse to load without a SECRET_KEY: give collectstatic a throwaway value that
# lives only in this RUN step (never in ENV, never in the final image's environment).
RUN SECRET_KEY=build-only-collectstatic-not-a-real-secret-0000 DEBUG=false \
        python manage.py collectstatic --noinput \
 && chmod 0755 docker/entrypoint.sh \
 && mkdir -p /app/data \
 && chown brainstorm:brainstorm /app/data

USER brainstorm

EXPOSE 8000

# /api/health checks the database and the channel layer. The Host header is the first
# usable ALLOWED_HOSTS entry, so the probe is not rejected by Django's host check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as r; hosts = [h.strip().lstrip('.') for h in os.environ.get('ALLOWED_HOSTS', '').split(',') if h.strip() not in ('', '*')]; req = r.Request('http://127.0.0.1:8000/api/health', headers={'Host': hosts[0] if hosts else 'localhost'}); sys.exit(0 if r.urlopen(req, timeout=4).status == 200 else 1)"]

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
