from rest_framework import mixins, viewsets

from accounts.permissions import IsAdmin
from market.models import Participant
from market.serializers import AdminParticipantSerializer


class AdminParticipantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAdmin]
    serializer_class = AdminParticipantSerializer
    queryset = Participant.objects.select_related("user").order_by("display_name")
