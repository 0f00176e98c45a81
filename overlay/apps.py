from django.apps import AppConfig


class OverlayConfig(AppConfig):
    name = "overlay"
    default_auto_field = "django.db.models.BigAutoField"
