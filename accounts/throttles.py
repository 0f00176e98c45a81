"""Sign-in protection that a whole venue behind one address can live with.

Per account and address: failures first slow the (e-mail, client address) pair down
(SigninGuard: from the third, each next try waits 2, 4, 8… seconds), then django-axes locks the
pair out at its SIGNIN_FAILURES_PER_ACCOUNT-th failure for SIGNIN_LOCKOUT_SECONDS. A guesser
elsewhere never locks a team out (another address is another pair), and the lock-outs are
listed, and cleared, in the admin (Axes → Access attempts).

Only failures count, and only per (e-mail, address): hundreds of teams behind one school router
sign in freely as long as they type their passwords right, and no team can lock the venue out.
The slow-down's counter lives in the cache (shared by every server process when it is Redis).

Both see the client's address as common.network works it out (X-Forwarded-For only from
TRUSTED_PROXIES).
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render

from accounts.forms import SigninForm
from common.problems import problem_response

SIGNIN_NOTICE = "Too many failed sign-ins for this account from this network. Try again in {wait} seconds."


class SigninGuard:
    """Slows down, before axes locks: from the SLOW_AFTER-th failure of one (e-mail, address) pair,
    the next try must wait 2, 4, 8… seconds (at most SLOW_MAX) after the last failure, answered
    at once with the wait (a worker is never held asleep). Nothing counts per address alone: a
    team failing on made-up e-mails must not lock out the venue behind its router."""

    SLOW_AFTER = 3
    SLOW_MAX = 60

    def __init__(self, request, email: str = "") -> None:
        address = request.META.get("REMOTE_ADDR", "")
        pair = hashlib.sha256(f"{address}\n{email.strip().lower()}".encode()).hexdigest()
        self.pair_key = f"signin-failures:pair:{pair}"

    def wait(self) -> int | None:
        """Seconds to wait before trying again, or None when this attempt may go ahead."""
        failures, last = cache.get(self.pair_key, (0, 0.0))
        if failures >= self.SLOW_AFTER:
            left = min(2 ** (failures - self.SLOW_AFTER + 1), self.SLOW_MAX) - (time.time() - last)
            if left > 0:
                return max(1, math.ceil(left))
        return None

    def failed(self, request=None) -> None:
        if request is not None and getattr(request, "axes_locked_out", False):
            return  # refused by the lock-out, not a wrong password: nothing more to count
        failures, _last = cache.get(self.pair_key, (0, 0.0))
        cache.set(self.pair_key, (failures + 1, time.time()), settings.SIGNIN_LOCKOUT_SECONDS)

    def succeeded(self) -> None:
        cache.delete(self.pair_key)


# django-axes hooks (settings.AXES_*)


def axes_username(request, credentials) -> str:
    """The e-mail, from the page's form (`username`) or the API (`email`), in one case."""
    credentials = credentials or {}
    value = credentials.get("username") or credentials.get("email")
    if value is None and request is not None:
        value = request.POST.get("username") or request.POST.get("email")
    return (value or "").strip().lower()


def axes_client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def axes_lockout(request, original_response, credentials):
    """A locked-out sign-in: 429 with the wait, as a problem for the API and on the sign-in page."""
    wait = settings.SIGNIN_LOCKOUT_SECONDS
    if request.path.startswith("/api/"):
        response = problem_response(
            request,
            status=429,
            code="throttled",
            detail="Too many failed sign-ins for this account from here. Try again later.",
        )
        response["Retry-After"] = str(wait)
        return response
    context = {"form": SigninForm(request), "notice": SIGNIN_NOTICE.format(wait=wait)}
    return render(request, "accounts/signin.html", context, status=429)
