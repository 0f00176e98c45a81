"""Error tracking with Sentry, on only when SENTRY_DSN is set.

Personal data stays out by default (no e-mail, address, cookies, bodies or query strings in a
report): the request id tag (common.logs) leads from a report to the request's log line. Unhandled
exceptions in views are reported through the Django integration, and every ERROR log record (a
scheduler step that failed, an event the channel layer lost) through the logging integration.
"""

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration


def error_tracking_init(*, dsn: str, environment: str, release: str | None, send_default_pii: bool = False) -> bool:
    """Start Sentry if `dsn` is set; whether it started."""
    if not dsn:
        return False
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        send_default_pii=send_default_pii,
        max_request_body_size="never",  # a sign-in's body holds an e-mail and a password
        include_local_variables=False,  # a frame's locals hold requests (tokens in URLs), passwords
        integrations=[DjangoIntegration(), LoggingIntegration(event_level="ERROR")],
        # No traces_sample_rate: errors only; tracing every trade would cost the bell burst.
    )
    return True
