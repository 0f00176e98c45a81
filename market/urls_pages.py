from django.urls import path

from market import views

app_name = "market"

urlpatterns = [
    path("market/", views.dashboard, name="dashboard"),
    path("trade/", views.trade, name="trade"),
    path("portfolio/", views.portfolio, name="portfolio"),
    path("history/", views.history, name="history"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
]
