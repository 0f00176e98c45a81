from django.conf import settings
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from accounts.models import Role, User
from common.problems import DomainError
from market.models import EventSettings, Participant
from market.services import participant_create
from overlay.events import sessions_ended


class SignupClosed(DomainError):
    code = "signup_closed"
    status = 403
    title = "Sign-up is closed"


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status = 400
    title = "Wrong e-mail or password"


class AlreadyRegistered(Exception):
    """The e-mail or team name is taken (found by the database, after a race)."""

    def __init__(self, field: str) -> None:
        self.field = field
        super().__init__(field)


def signup_is_open() -> bool:
    return settings.SIGNUP_OPEN and EventSettings.load().signup_open


def user_signup(*, email: str, password: str, display_name: str, school: str = "") -> Participant:
    """Create a participant user and its team. Sign-up never makes an admin."""
    if not signup_is_open():
        raise SignupClosed("Sign-up is closed for this event. Ask the organisers for an account.")
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, role=Role.PARTICIPANT)
            return participant_create(user=user, display_name=display_name, school=school)
    except IntegrityError as exc:
        # Two sign-ups raced past the serializer's check; the database decided.
        field = "display_name" if "display_name" in str(exc) else "email"
        raise AlreadyRegistered(field) from exc


def user_sign_out_everywhere(user: User) -> None:
    """The account's API tokens end and its open live connections close (after the commit).
    Its sessions end by themselves once the password or the access changed."""
    Token.objects.filter(user=user).delete()
    sessions_ended(user.pk)  # keep=None: every connection of this account
