#!/bin/sh
# Container entry point for the Brainstorm image.
#   web        (default) apply migrations (one replica at a time), then serve HTTP/WebSocket/SSE with Daphne
#              (on uvloop) on :8000.
#              Extra arguments are passed to Daphne, e.g. `web --verbosity 2`.
#   scheduler  fire the run sheet's cues (bells, news, prices, scenes, notes) when due.
#   worker     run background jobs (a big team import, the results workbook): django-tasks' db_worker.
#   anything else is run as given, e.g. `python manage.py createsuperuser`.
set -eu

if [ "$#" -eq 0 ]; then
    set -- web
fi

case "$1" in
    web)
        shift
        # Replicas starting together migrate one at a time (the others wait, then find it done).
        python manage.py migrate_locked
        # No --proxy-headers here: Daphne would then take the client address from
        # X-Forwarded-For sent by anyone, bypassing the TRUSTED_PROXIES check (SPEC §10).
        # No access log of Daphne's: each request's JSON line comes from the application
        # (brainstorm.logs), with its request id; Daphne's plain line would repeat it.
        # Daphne on uvloop (brainstorm/serve.py takes Daphne's own arguments).
        exec python -m brainstorm.serve -b 0.0.0.0 -p 8000 --access-log /dev/null "$@" brainstorm.asgi:application
        ;;
    scheduler)
        shift
        exec python manage.py run_scheduler "$@"
        ;;
    worker)
        shift
        exec python manage.py db_worker "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
