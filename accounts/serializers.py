from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from accounts.models import User
from market.models import Participant
from market.serializers import ParticipantSerializer


class UserSerializer(serializers.ModelSerializer):
    participant = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "role", "created_at", "participant"]
        read_only_fields = fields

    def get_participant(self, user: User) -> dict | None:
        participant = getattr(user, "participant", None) if user.role == "participant" else None
        return ParticipantSerializer(participant).data if participant else None


class SignupSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
    display_name = serializers.CharField(max_length=80)
    school = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")

    def validate_email(self, value: str) -> str:
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError("An account with this e-mail already exists.")
        return value

    def validate_display_name(self, value: str) -> str:
        if Participant.objects.filter(display_name__iexact=value).exists():
            raise serializers.ValidationError("This team name is taken.")
        return value

    def validate(self, attrs: dict) -> dict:
        candidate = User(email=attrs["email"])
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": exc.messages}) from exc
        return attrs


class SigninSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class SigninResponseSerializer(serializers.Serializer):
    user = UserSerializer()
    token = serializers.CharField()


class SignupResponseSerializer(serializers.Serializer):
    user = UserSerializer()
    participant = ParticipantSerializer()
    token = serializers.CharField()
