from rest_framework import serializers

from market.models import Participant


class ParticipantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Participant
        fields = [
            "id",
            "display_name",
            "school",
            "cash",
            "starting_cash",
            "portfolio_value",
            "is_frozen",
            "created_at",
        ]
        read_only_fields = fields


class AdminParticipantSerializer(ParticipantSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta(ParticipantSerializer.Meta):
        fields = [*ParticipantSerializer.Meta.fields, "email", "trade_count", "last_trade_at"]
        read_only_fields = fields
