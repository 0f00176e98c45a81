from django.urls import path

from market.views import pages, teams, trading

app_name = "market"

urlpatterns = [
    path("", teams.welcome, name="welcome"),
    path("signup/", teams.signup, name="signup"),
    path("settings/", teams.team_settings, name="settings"),
    path("settings/password/", teams.password_change, name="password-change"),
    path("market/", pages.dashboard, name="dashboard"),
    path("trade/", trading.trade, name="trade"),
    path("trade/orders/<uuid:order_id>/cancel/", trading.order_cancel, name="order-cancel"),
    path("portfolio/", pages.portfolio, name="portfolio"),
    path("history/", pages.history, name="history"),
    path("leaderboard/", pages.leaderboard, name="leaderboard"),
]
