from django.urls import path
from rest_framework.routers import SimpleRouter

from market import api

router = SimpleRouter(trailing_slash=False)
router.register("companies", api.CompanyViewSet, basename="companies")

urlpatterns = [
    path("market", api.MarketView.as_view(), name="market"),
    path("portfolio", api.PortfolioView.as_view(), name="portfolio"),
    path("transactions", api.TransactionsView.as_view(), name="transactions"),
    path("leaderboard", api.LeaderboardView.as_view(), name="leaderboard"),
    *router.urls,
]
