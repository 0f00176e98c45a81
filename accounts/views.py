"""The account pages: welcome, sign up, sign in, sign out, and the team's settings."""

from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle

from accounts.decorators import team_required
from accounts.forms import PasswordForm, SigninForm, SignupForm, TeamForm
from accounts.services import AlreadyRegistered, signup_is_open, user_signup
from accounts.throttles import SIGNIN_NOTICE, SigninGuard
from common.problems import InvalidInput
from market.services import participant_rename
from overlay.events import sessions_ended


class PageThrottle(SimpleRateThrottle):
    """The API's sign-up throttle, for the page: the same counter, so using both the page and the
    API gives no one a second allowance."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def _throttled(request: HttpRequest, scope: str) -> int | None:
    """Seconds to wait when this address has used up its allowance, else None."""
    throttle = PageThrottle(scope)
    if throttle.allow_request(request, None):
        return None
    return max(1, round(throttle.wait() or 1))


def home_url(user) -> str:
    return reverse("admin:index") if user.is_staff else reverse("market:dashboard")


@require_GET
def welcome(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(home_url(request.user))
    return render(request, "accounts/welcome.html", {"signup_open": signup_is_open()})


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


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(home_url(request.user))
    if not signup_is_open():
        return render(request, "accounts/signup_closed.html", status=403)
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        wait = _throttled(request, "signup")
        if wait is not None:
            notice = f"Too many sign-ups from this network. Try again in {wait} seconds."
            return render(request, "accounts/signup.html", {"form": form, "notice": notice}, status=429)
        if form.is_valid():
            data = form.cleaned_data
            try:
                participant = user_signup(
                    email=data["email"],
                    password=data["password"],
                    display_name=data["display_name"],
                    school=data["school"],
                )
            except AlreadyRegistered as exc:  # another sign-up won the race for the name or e-mail
                taken = {"display_name": "This team name is taken."}
                form.add_error(exc.field, taken.get(exc.field, "An account with this e-mail already exists."))
            else:
                login(request, participant.user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, f"Welcome, {participant.display_name}! Your team is ready to trade.")
                return redirect("market:dashboard")
        return render(request, "accounts/signup.html", {"form": form}, status=400)
    return render(request, "accounts/signup.html", {"form": form})


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        Token.objects.filter(user=request.user).delete()
        sessions_ended(request.user.pk, ended=request.session.session_key)
    logout(request)
    return redirect("accounts:signin")


def _settings_page(request, *, team_form, password_form, status=200) -> HttpResponse:
    context = {"team_form": team_form, "password_form": password_form}
    return render(request, "accounts/settings.html", context, status=status)


@team_required
@require_http_methods(["GET", "POST"])
def team_settings(request: HttpRequest) -> HttpResponse:
    team = request.participant
    password_form = PasswordForm(request.user)
    if request.method != "POST":
        return _settings_page(request, team_form=TeamForm(instance=team), password_form=password_form)
    form = TeamForm(request.POST, instance=team)
    if form.is_valid():
        try:
            participant_rename(
                participant=team,
                display_name=form.cleaned_data["display_name"],
                school=form.cleaned_data["school"],
                by=request.user,
            )
        except InvalidInput as exc:
            for field, problems in (exc.errors or {}).items():
                for problem in problems:
                    form.add_error(field, problem)
        else:
            messages.success(request, "Team details saved.")
            return redirect("accounts:settings")
    team.refresh_from_db()  # the header shows the saved name, not the refused one
    return _settings_page(request, team_form=form, password_form=password_form, status=400)


@team_required
@require_POST
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordForm(request.user, request.POST)
    if not form.is_valid():
        return _settings_page(request, team_form=TeamForm(instance=request.participant), password_form=form, status=400)
    user = form.save()
    # Every other browser and every API token of this account ends; this browser stays in with a
    # new session key.
    Token.objects.filter(user=user).delete()
    # This browser's open sockets were opened with its session key as it is now: they stay.
    sessions_ended(user.pk, keep=request.session.session_key)
    update_session_auth_hash(request, user)
    messages.success(request, "Password changed. Other devices signed in to this team are signed out.")
    return redirect("accounts:settings")
