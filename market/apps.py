from django.apps import AppConfig


class MarketConfig(AppConfig):
    name = "market"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from common import metrics
        from market.scheduler import due_since

        metrics.report_scheduler_lag(due_since)
