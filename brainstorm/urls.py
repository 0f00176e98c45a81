from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from common.health import HealthView
from overlay.views import overlay_page

api_patterns = [
    path("", include("market.urls")),
    path("", include("newsroom.urls")),
    path("", include("overlay.urls")),
    path("", include("organisers.urls")),
    path("health", HealthView.as_view(), name="health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("admin/control-room/", include("organisers.control_room")),  # before the admin's catch-all
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("overlay", overlay_page, {"page": "scene"}),  # the full scene without its slash too
    path("overlay/", include("overlay.urls_pages")),
    path("", include("accounts.urls_pages")),
    path("", include("market.urls_pages")),
    path("news/", include("newsroom.urls_pages")),
]

handler400 = "common.views.bad_request"
handler403 = "common.views.permission_denied"
handler404 = "common.views.not_found"
handler500 = "common.views.server_error"
