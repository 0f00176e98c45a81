"""The Django admin of every model, for the organisers (Django imports this module at start-up)."""

from organisers.admin import accounts, jobs, market, news, orders, runsheet, teams  # noqa: F401 each registers its models
