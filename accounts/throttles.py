"""Sign-in protection that a whole venue behind one address can live with.

Only failures count. A client address that fails for one e-mail SIGNIN_FAILURES_PER_ACCOUNT times
within SIGNIN_LOCKOUT_SECONDS waits out the rest of that time, and so does an address with
SIGNIN_FAILURES_PER_ADDRESS failures over any accounts (a script guessing many). A team that signs
in from another address is not held up by a guesser elsewhere, and hundreds of teams behind one
school router sign in freely as long as they type their passwords right. The counters live in the
cache (shared by every server process when it is Redis).
"""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle


class SigninGuard:
    def __init__(self, request, email: str) -> None:
        address = BaseThrottle().get_ident(request)
        pair = hashlib.sha256(f"{address}\n{email.strip().lower()}".encode()).hexdigest()
        self.account_key = f"signin-failures:pair:{pair}"
        self.address_key = f"signin-failures:address:{address}"

    def _limits(self) -> dict[str, int]:
        return {
            self.account_key: settings.SIGNIN_FAILURES_PER_ACCOUNT,
            self.address_key: settings.SIGNIN_FAILURES_PER_ADDRESS,
        }

    def wait(self) -> int | None:
        """Seconds to wait before trying again, or None when this attempt may go ahead."""
        limits = self._limits()
        stored = cache.get_many([*limits, *(f"{key}:until" for key in limits)])
        now = time.time()
        waits = [stored.get(f"{key}:until", now) - now for key, limit in limits.items() if stored.get(key, 0) >= limit]
        return max(1, round(max(waits))) if waits else None

    def failed(self) -> None:
        window = settings.SIGNIN_LOCKOUT_SECONDS
        for key in self._limits():
            cache.add(f"{key}:until", time.time() + window, window)
            if cache.add(key, 1, window):
                continue
            try:
                cache.incr(key)
            except ValueError:  # expired between the two calls
                cache.set(key, 1, window)

    def succeeded(self) -> None:
        cache.delete_many([self.account_key, f"{self.account_key}:until"])
