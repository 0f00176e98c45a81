from rest_framework.routers import SimpleRouter

from newsroom import api

router = SimpleRouter(trailing_slash=False)
router.register("news", api.NewsViewSet, basename="news")

urlpatterns = router.urls
