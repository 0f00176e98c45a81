from rest_framework.authtoken.models import Token

from accounts.models import User
from common.problems import DomainError
from overlay.events import sessions_ended


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status = 400
    title = "Wrong e-mail or password"


def user_sign_out_everywhere(user: User) -> None:
    """The account's API tokens end and its open live connections close (after the commit).
    Its sessions end by themselves once the password or the access changed."""
    Token.objects.filter(user=user).delete()
    sessions_ended(user.pk)  # keep=None: every connection of this account
