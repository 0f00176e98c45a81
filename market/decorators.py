from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

from accounts.models import Role
from common.views import forbidden
from market.models import Participant


def team_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Team pages: anonymous visitors go to sign in; anyone without a team (an organiser) gets
    the wrong-role page. The view finds the team on `request.participant`."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        participant = None
        if user.role == Role.PARTICIPANT:
            participant = Participant.objects.filter(user=user).first()
        if participant is None:
            return forbidden(request, reason="role")
        request.participant = participant
        return view(request, *args, **kwargs)

    return wrapper
