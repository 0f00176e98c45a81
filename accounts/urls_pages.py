from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("signin/", views.SigninView.as_view(), name="signin"),
    path("signout/", views.signout, name="signout"),
]
