from django.urls import include, path
from rest_framework.routers import SimpleRouter

from organisers import api

router = SimpleRouter(trailing_slash=False)
router.register("admin/companies", api.AdminCompanyViewSet, basename="admin-companies")
router.register("admin/participants", api.AdminParticipantViewSet, basename="admin-participants")
router.register("admin/transactions", api.AdminTransactionViewSet, basename="admin-transactions")
router.register("admin/orders", api.AdminOrderViewSet, basename="admin-orders")
router.register("admin/news", api.AdminNewsViewSet, basename="admin-news")

# The explicit paths first: the router would take `admin/participants/import` for a team's id.
urlpatterns = [
    path("admin/market/open", api.AdminMarketOpenView.as_view(), name="admin-market-open"),
    path("admin/market/close", api.AdminMarketCloseView.as_view(), name="admin-market-close"),
    path("admin/results", api.AdminResultsView.as_view(), name="admin-results"),
    path("admin/participants/import", api.AdminParticipantImportView.as_view(), name="admin-participants-import"),
    path(
        "admin/participants/credentials/<slug:token>",
        api.AdminParticipantCredentialsView.as_view(),
        name="admin-participants-credentials",
    ),
    path("", include("organisers.runsheet.urls")),
    *router.urls,
]
