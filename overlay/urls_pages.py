from django.urls import path

from overlay.views import overlay_page

app_name = "overlay"
urlpatterns = [
    path("", overlay_page, {"page": "scene"}, name="scene"),
    path("ticker", overlay_page, {"page": "ticker"}, name="ticker"),
    path("leaderboard", overlay_page, {"page": "leaderboard"}, name="leaderboard"),
    path("news", overlay_page, {"page": "news"}, name="news"),
    path("bell", overlay_page, {"page": "bell"}, name="bell"),
]
