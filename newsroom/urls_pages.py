from django.urls import path

from newsroom import views

app_name = "newsroom"

urlpatterns = [
    path("", views.news_list, name="list"),
    path("<uuid:pk>/", views.news_detail, name="detail"),
]
