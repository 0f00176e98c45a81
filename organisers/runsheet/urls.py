from django.urls import path
from rest_framework.routers import SimpleRouter

from organisers.director.api import SceneView
from organisers.jobs import api as jobs
from organisers.runsheet import api, transfer

router = SimpleRouter(trailing_slash=False)
router.register("admin/cues", api.CueViewSet, basename="admin-cues")

# The explicit paths first: the router would take `admin/cues/import` for a cue's id.
urlpatterns = [
    path("admin/scene", SceneView.as_view(), name="admin-scene"),
    path("admin/jobs", jobs.JobsView.as_view(), name="admin-jobs"),
    path("admin/jobs/<uuid:pk>", jobs.JobView.as_view(), name="admin-job"),
    path("admin/jobs/<uuid:pk>/download", jobs.JobDownloadView.as_view(), name="admin-job-download"),
    path("admin/cues/import", transfer.CueImportView.as_view(), name="admin-cues-import"),
    path("admin/cues/export", transfer.CueExportView.as_view(), name="admin-cues-export"),
    path("admin/cues/template", transfer.CueTemplateView.as_view(), name="admin-cues-template"),
    path("admin/run-sheet", api.RunSheetView.as_view(), name="admin-run-sheet"),
    path("admin/run-sheet/hold", api.RunSheetHoldView.as_view(), name="admin-run-sheet-hold"),
    path("admin/run-sheet/resume", api.RunSheetResumeView.as_view(), name="admin-run-sheet-resume"),
    path("admin/run-sheet/undo", api.RunSheetUndoView.as_view(), name="admin-run-sheet-undo"),
    *router.urls,
]
