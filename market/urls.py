from rest_framework.routers import SimpleRouter

from market import api

router = SimpleRouter(trailing_slash=False)
router.register("admin/participants", api.AdminParticipantViewSet, basename="admin-participants")

urlpatterns = router.urls
