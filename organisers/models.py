"""The run sheet (SPEC §6b): the event's script, a list of cues the scheduler fires on time, and
its one state row (held or running, and by how much the show runs late)."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q


class CueAction(models.TextChoices):
    OPEN = "open", "Open the day (start bell)"
    CLOSE = "close", "Close the day (end bell)"
    NEWS = "news", "Publish news"
    PRICE = "price", "Change a price"
    SCENE = "scene", "Take a scene"
    NOTE = "note", "Note for the host"


class CueStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    FIRED = "fired", "Fired"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


class Cue(models.Model):
    """One timed action of the run sheet.

    `at` is kept as the organiser wrote it (an event-time date-time, a clock time, or an offset
    from the day's start bell); `due_at` is when it fires, worked out from `at` and the day
    (organisers.runsheet.times) plus `shifted_by`, the time the run sheet was held before it.
    An offset cue has no `due_at` until its day's start bell rings.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    day = models.PositiveIntegerField(help_text="The trading day the cue belongs to.")
    at = models.CharField(
        max_length=32,
        help_text="2026-12-08 09:20 (event time), 09:20 (on the day's date), or +00:45:00 (after its start bell).",
    )
    due_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)
    shifted_by = models.DurationField(default=timedelta, editable=False, help_text="Held before it fired.")
    position = models.PositiveIntegerField(default=0, editable=False, help_text="Order among cues due at once.")
    action = models.CharField(max_length=10, choices=CueAction.choices)
    data = models.JSONField(encoder=DjangoJSONEncoder, blank=True, default=dict)
    status = models.CharField(max_length=10, choices=CueStatus.choices, default=CueStatus.PLANNED, db_index=True)
    fired_at = models.DateTimeField(null=True, blank=True, editable=False)
    late_by = models.DurationField(null=True, blank=True, editable=False, help_text="How late it fired.")
    reason = models.TextField(blank=True, default="", editable=False, help_text="Why it failed or was skipped.")
    # What firing did, for the timeline and for undo (a price cue: the price before and after).
    result = models.JSONField(encoder=DjangoJSONEncoder, blank=True, default=dict, editable=False)
    undone_at = models.DateTimeField(null=True, blank=True, editable=False)
    news = models.ForeignKey(
        "newsroom.News",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="The news item the cue publishes (or published).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "cues"
        ordering = ["day", "due_at", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(day__gte=1), name="cues_day_gte_1"),
            models.CheckConstraint(condition=Q(action__in=CueAction.values), name="cues_action_known"),
            models.CheckConstraint(condition=Q(status__in=CueStatus.values), name="cues_status_known"),
            models.CheckConstraint(
                condition=Q(status=CueStatus.PLANNED) | Q(fired_at__isnull=False), name="cues_done_has_time"
            ),
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="cues_due")]

    def __str__(self) -> str:
        return f"day {self.day} {self.at} {self.action}"


class RunSheet(models.Model):
    """The run sheet's one state row: held since when, and the time held so far."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    held_since = models.DateTimeField(null=True, blank=True)
    held_day = models.PositiveIntegerField(
        null=True, blank=True, help_text="The day being run when the hold began: its cues move on resume."
    )
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shifted_by = models.DurationField(default=timedelta, help_text="Time held in all, by every resume so far.")

    class Meta:
        db_table = "run_sheet"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="run_sheet_single_row")]

    def __str__(self) -> str:
        return "run sheet (held)" if self.held_since else "run sheet"

    @classmethod
    def load(cls) -> "RunSheet":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class Broadcast(models.Model):
    """What the stream shows (SPEC §8 Director): the scene taken on the full-scene overlay, its
    options, and who took it when. One row."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    scene = models.CharField(max_length=20, default="market")
    options = models.JSONField(encoder=DjangoJSONEncoder, blank=True, default=dict)
    # What the page draws, as it was when taken: every page, loaded then or later, shows the same
    # podium and countdown (organisers.director.scenes.data).
    data = models.JSONField(encoder=DjangoJSONEncoder, blank=True, default=dict)
    taken_at = models.DateTimeField(null=True, blank=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "broadcast"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="broadcast_single_row")]

    def __str__(self) -> str:
        return f"scene {self.scene}"

    @classmethod
    def load(cls) -> "Broadcast":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class JobKind(models.TextChoices):
    TEAM_IMPORT = "team_import", "Team import"
    RESULTS = "results", "Results workbook"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


ACTIVE_JOB = Q(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])


class Job(models.Model):
    """Long work run in the background (SPEC §6): what, for whom, how far, and how it ended. The
    task (django-tasks) carries only the job's id; the job keeps the file, the progress and the
    result, so a closed browser loses nothing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=JobKind.choices)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0 to 100.")
    stage = models.CharField(max_length=200, blank=True, default="", help_text="What it is doing, in words.")
    filename = models.CharField(max_length=255, blank=True, default="")
    content = models.BinaryField(blank=True, default=b"", editable=False, help_text="The uploaded file.")
    output = models.BinaryField(blank=True, default=b"", editable=False, help_text="A workbook it made.")
    result = models.JSONField(encoder=DjangoJSONEncoder, blank=True, default=dict)
    error = models.TextField(blank=True, default="")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Its last sign of life.")

    class Meta:
        db_table = "jobs"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__gte=0, progress__lte=100), name="jobs_progress_0_100"),
            # One of each kind at a time: a second click while one runs does not start another.
            models.UniqueConstraint(fields=["kind"], condition=ACTIVE_JOB, name="jobs_one_active_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.status})"
