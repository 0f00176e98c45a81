"""A team's account pages: the welcome page, sign-up, and the team's settings (name, school,
password). Sign-in and sign-out are the accounts app's."""

from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle

from accounts.forms import PasswordForm
from accounts.views import home_url
from common.problems import InvalidInput
from market.decorators import team_required
from market.errors import AlreadyRegistered
from market.forms import SignupForm, TeamForm
from market.services import participant_rename, signup_is_open, team_signup
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


@require_GET
def welcome(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(home_url(request.user))
    return render(request, "market/welcome.html", {"signup_open": signup_is_open()})


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(home_url(request.user))
    if not signup_is_open():
        return render(request, "market/signup_closed.html", status=403)
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        wait = _throttled(request, "signup")
        if wait is not None:
            notice = f"Too many sign-ups from this network. Try again in {wait} seconds."
            return render(request, "market/signup.html", {"form": form, "notice": notice}, status=429)
        if form.is_valid():
            data = form.cleaned_data
            try:
                participant = team_signup(
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
        return render(request, "market/signup.html", {"form": form}, status=400)
    return render(request, "market/signup.html", {"form": form})


def _settings_page(request, *, team_form, password_form, status=200) -> HttpResponse:
    context = {"team_form": team_form, "password_form": password_form}
    return render(request, "market/settings.html", context, status=status)


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
            return redirect("market:settings")
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
    return redirect("market:settings")
