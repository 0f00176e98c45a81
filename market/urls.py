from django.urls import path
from rest_framework.routers import SimpleRouter

from market.api import orders, reads, teams, trading

router = SimpleRouter(trailing_slash=False)
router.register("companies", reads.CompanyViewSet, basename="companies")

urlpatterns = [
    path("auth/signup", teams.SignupView.as_view(), name="auth-signup"),
    path("auth/signin", teams.SigninView.as_view(), name="auth-signin"),
    path("auth/signout", teams.SignoutView.as_view(), name="auth-signout"),
    path("auth/me", teams.MeView.as_view(), name="auth-me"),
    path("market", reads.MarketView.as_view(), name="market"),
    path("portfolio", reads.PortfolioView.as_view(), name="portfolio"),
    path("transactions", trading.TransactionsView.as_view(), name="transactions"),
    path("orders", orders.OrdersView.as_view(), name="orders"),
    path("orders/<uuid:order_id>", orders.OrderView.as_view(), name="order"),
    path("leaderboard", reads.LeaderboardView.as_view(), name="leaderboard"),
    *router.urls,
]
