from rest_framework.permissions import BasePermission

from accounts.models import Role


class IsParticipant(BasePermission):
    message = "Only teams can do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role == Role.PARTICIPANT and hasattr(user, "participant"))


class IsAdmin(BasePermission):
    message = "Only organisers can do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)


class IsParticipantOrAdmin(BasePermission):
    message = "Only teams and organisers can do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role in Role.values)
