"""`migrate`, one server at a time: what the container runs before it serves.

Several replicas starting together would each run `migrate`; two applying the same migration at
once fail half-way (a table made twice) or worse. The first to start takes a lock, the others
wait for it and then find nothing left to do. PostgreSQL: a session advisory lock (released by
the database if the process dies). SQLite: an exclusive lock on a file beside the database.
"""

import contextlib
import fcntl
import time
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

# pg_advisory_lock's key: any constant of our own (the bytes of "brainstm").
MIGRATION_LOCK = 0x627261696E73746D


@contextlib.contextmanager
def migration_lock(alias: str, *, timeout: float, waiting):
    connection = connections[alias]
    deadline = time.monotonic() + timeout
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            while True:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATION_LOCK])
                if cursor.fetchone()[0]:
                    break
                if time.monotonic() > deadline:
                    raise CommandError(f"Another server held the migration lock for over {timeout:g} s.")
                waiting()
                time.sleep(1)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
        return
    if connection.vendor == "sqlite" and not connection.is_in_memory_db():
        path = Path(str(connection.settings_dict["NAME"]) + ".migrate-lock")
        with path.open("a") as lock_file:
            while True:
                try:
                    fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise CommandError(f"Another process held the migration lock for over {timeout:g} s.") from None
                    waiting()
                    time.sleep(1)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        return
    yield  # a database in memory belongs to this process alone


class Command(BaseCommand):
    help = "Apply migrations, one server at a time (replicas starting together wait for the first)."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--lock-timeout", type=float, default=600.0, help="Seconds to wait for another server's migration."
        )

    def handle(self, *args, database: str, lock_timeout: float, verbosity: int, **options):
        said = []

        def waiting():
            if not said:
                said.append(True)
                self.stdout.write("Another server is applying migrations; waiting for it.")

        with migration_lock(database, timeout=lock_timeout, waiting=waiting):
            call_command("migrate", database=database, interactive=False, verbosity=verbosity)
