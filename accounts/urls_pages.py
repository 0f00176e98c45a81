from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.welcome, name="welcome"),
    path("signup/", views.signup, name="signup"),
    path("signin/", views.SigninView.as_view(), name="signin"),
    path("signout/", views.signout, name="signout"),
    path("settings/", views.team_settings, name="settings"),
    path("settings/password/", views.password_change, name="password-change"),
]
