from django.apps import AppConfig


class NewsroomConfig(AppConfig):
    name = "newsroom"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Wired once the apps are loaded: the live layer imports no app (overlay/domain.py).
        from newsroom import live

        live.register()
