from django.apps import AppConfig


class OrganisersConfig(AppConfig):
    """The organisers' tools: the control room, the admin and its API, spreadsheets in and out,
    the results workbook, the scheduler and the commands."""

    name = "organisers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Wired once the apps are loaded: /metrics reports the scheduler's lag as its own query
        # counts it (common imports no domain app).
        from common import metrics
        from organisers.director import live as director
        from organisers.jobs.progress import jobs_now
        from organisers.runsheet import live
        from organisers.scheduler import due_since

        metrics.report_scheduler_lag(due_since)
        metrics.report_jobs(jobs_now)
        live.register()  # the control room's timeline in a snapshot (topic `cues`)
        director.register()  # the scene on the stream in a snapshot (topic `scene`)
