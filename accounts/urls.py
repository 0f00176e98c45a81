from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/signup", api.SignupView.as_view(), name="auth-signup"),
    path("auth/signin", api.SigninView.as_view(), name="auth-signin"),
    path("auth/signout", api.SignoutView.as_view(), name="auth-signout"),
    path("auth/me", api.MeView.as_view(), name="auth-me"),
]
