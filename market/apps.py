from django.apps import AppConfig


class MarketConfig(AppConfig):
    name = "market"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Wired once the apps are loaded: the live layer imports no app (overlay/domain.py).
        from market import live

        live.register()
