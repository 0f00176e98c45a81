from rest_framework import serializers

from accounts.models import User
from market.serializers import NewTeamSerializer, ParticipantSerializer


class UserSerializer(serializers.ModelSerializer):
    participant = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "role", "created_at", "participant"]
        read_only_fields = fields

    def get_participant(self, user: User) -> dict | None:
        participant = getattr(user, "participant", None) if user.role == "participant" else None
        return ParticipantSerializer(participant).data if participant else None


class SignupSerializer(NewTeamSerializer):
    """Sign-up: fields outside the form (`role`, say) are ignored; sign-up always makes a team."""


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
