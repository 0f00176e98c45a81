"""Password hashing: Argon2id at OWASP's first recommended setting (19 MiB, 2 passes, 1 lane).

Django's own setting (100 MiB, 8 lanes) made a room of teams signing in at the start of a day
wait, and an import of many teams spend minutes hashing. This one is several times cheaper
(docs/performance.md has the figures) and is still what OWASP's Password Storage Cheat Sheet
recommends for Argon2id. Stored hashes keep
their own settings: older ones still verify, and are rehashed at the next sign-in.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher as DjangoArgon2PasswordHasher


class Argon2PasswordHasher(DjangoArgon2PasswordHasher):
    time_cost = 2
    memory_cost = 19456  # KiB
    parallelism = 1
