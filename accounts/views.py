"""The sign-in and sign-out pages (a team's sign-up and settings are the market's: market/views/teams.py)."""

from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from accounts.forms import SigninForm
from accounts.throttles import SIGNIN_NOTICE, SigninGuard
from overlay.events import sessions_ended


def home_url(user) -> str:
    return reverse("admin:index") if user.is_staff else reverse("market:dashboard")


class SigninView(LoginView):
    template_name = "accounts/signin.html"
    authentication_form = SigninForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        self.guard = SigninGuard(request, request.POST.get("username", ""))
        wait = self.guard.wait()
        if wait is not None:
            notice = SIGNIN_NOTICE.format(wait=wait)
            context = self.get_context_data(form=self.get_form_class()(request), notice=notice)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        self.guard.failed(self.request)
        return super().form_invalid(form)

    def form_valid(self, form):
        self.guard.succeeded()
        return super().form_valid(form)

    def get_success_url(self) -> str:
        # Organisers go to the admin and teams to the market, whatever `next` said, unless
        # `next` is a page of their own side.
        user = self.request.user
        wanted = self.get_redirect_url()
        if wanted and wanted.startswith("/admin/") == bool(user.is_staff):
            return wanted
        return home_url(user)


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        Token.objects.filter(user=request.user).delete()
        sessions_ended(request.user.pk, ended=request.session.session_key)
    logout(request)
    return redirect("accounts:signin")
