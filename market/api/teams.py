"""A team's account over the API (`/api/auth/...`, SPEC §4): sign up (an account and its team),
sign in and out, and `me`. They live with the teams: every answer carries the team."""

from django.contrib.auth import authenticate, login, logout
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.serializers import SigninSerializer
from accounts.services import InvalidCredentials
from accounts.throttles import SigninGuard
from market.errors import AlreadyRegistered, SignupClosed
from market.serializers import (
    ParticipantSerializer,
    SigninResponseSerializer,
    SignupResponseSerializer,
    SignupSerializer,
    UserSerializer,
)
from market.services import signup_is_open, team_signup
from overlay.events import sessions_ended


def _start_session(request, user) -> str:
    """Sign the user in on this browser (new session key) and return their API token."""
    login(request._request, user, backend="django.contrib.auth.backends.ModelBackend")
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


class SignupView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "signup"

    @extend_schema(request=SignupSerializer, responses={201: SignupResponseSerializer}, tags=["auth"])
    def post(self, request):
        if not signup_is_open():  # before validation: a closed sign-up tells nothing about accounts
            raise SignupClosed("Sign-up is closed for this event. Ask the organisers for an account.")
        serializer = SignupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            participant = team_signup(
                email=data["email"],
                password=data["password"],
                display_name=data["display_name"],
                school=data["school"],
            )
        except AlreadyRegistered as exc:
            message = (
                "This team name is taken."
                if exc.field == "display_name"
                else "An account with this e-mail already exists."
            )
            raise serializers.ValidationError({exc.field: [message]}) from exc
        user = participant.user
        token = _start_session(request, user)
        body = {
            "user": UserSerializer(user).data,
            "participant": ParticipantSerializer(participant).data,
            "token": token,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class SigninView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=SigninSerializer, responses={200: SigninResponseSerializer}, tags=["auth"])
    def post(self, request):
        serializer = SigninSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        guard = SigninGuard(request, serializer.validated_data["email"])
        wait = guard.wait()
        if wait is not None:
            raise exceptions.Throttled(wait=wait, detail="Too many failed sign-ins for this account from here.")
        user = authenticate(
            request._request,
            email=serializer.validated_data["email"],
            password=serializer.validated_data["password"],
        )
        if user is None:
            guard.failed(request._request)
            raise InvalidCredentials("The e-mail or password is wrong.")
        guard.succeeded()
        token = _start_session(request, user)
        return Response({"user": UserSerializer(user).data, "token": token})


class SignoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def post(self, request):
        Token.objects.filter(user=request.user).delete()
        sessions_ended(request.user.pk, ended=request.session.session_key)
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: UserSerializer}, tags=["auth"])
    def get(self, request):
        return Response(UserSerializer(request.user).data)
