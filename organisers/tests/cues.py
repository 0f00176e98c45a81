"""Cues for tests, written straight to the table: a time already past is how a late scheduler finds
one (the rules that refuse it when an organiser writes it are tested in test_run_sheet.py)."""

from datetime import datetime

from organisers.models import Cue
from organisers.runsheet.times import event_time_text


def due_cue(action: str, due_at: datetime, *, day: int = 1, **data) -> Cue:
    """A cue due at `due_at`, to the second like a run sheet's (cues due in the same second fire
    in the order they were written)."""
    due_at = due_at.replace(microsecond=0)
    return Cue.objects.create(
        day=day, at=event_time_text(due_at), due_at=due_at, action=action, data=data, position=Cue.objects.count() + 1
    )
