from django.urls import re_path

from overlay.views import overlay_page

app_name = "overlay"
# Each page answers with and without a trailing slash (SPEC §8): an OBS source typed either way
# shows the page, not a redirect or a 404.
urlpatterns = [
    re_path(r"^$", overlay_page, {"page": "scene"}, name="scene"),
    re_path(r"^ticker/?$", overlay_page, {"page": "ticker"}, name="ticker"),
    re_path(r"^leaderboard/?$", overlay_page, {"page": "leaderboard"}, name="leaderboard"),
    re_path(r"^news/?$", overlay_page, {"page": "news"}, name="news"),
    re_path(r"^bell/?$", overlay_page, {"page": "bell"}, name="bell"),
]
