"""The control room's forms: each carries what the page showed, so an action another organiser
took meanwhile is caught, not overwritten."""

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from common.problems import InvalidInput
from market.models import MAX_PRICE, Company, Participant
from organisers.control_room.director import SCENE_LABELS
from organisers.director.scenes import MAX_MOVERS, MAX_TITLE, MAX_TOP, SCENES
from organisers.director.scenes import clean as scene_clean


class BellForm(forms.Form):
    action = forms.ChoiceField(choices=[("open", "Open the day"), ("close", "Close the day")], widget=forms.HiddenInput)
    # The market as the page showed it: a bell rung from a page drawn before another organiser
    # rang it must not open or close a day nobody meant.
    seen_day = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label="I am sure",
        error_messages={"required": "Tick “I am sure” to ring the bell."},
    )


class PriceBoardForm(forms.Form):
    """Every company's price, and, hidden, the price it had when the page was drawn."""

    def __init__(self, *args, companies: list[Company], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.companies = companies
        for company in companies:
            self.fields[f"price_{company.pk}"] = forms.DecimalField(
                label=company.ticker,
                max_digits=14,
                decimal_places=2,
                min_value=Decimal("0.01"),
                max_value=MAX_PRICE,
                initial=company.current_price,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 12, "autocomplete": "off"}),
            )
            self.fields[f"drawn_{company.pk}"] = forms.DecimalField(
                max_digits=14, decimal_places=2, initial=company.current_price, widget=forms.HiddenInput
            )

    def rows(self) -> list[dict[str, Any]]:
        return [{"company": c, "price": self[f"price_{c.pk}"], "drawn": self[f"drawn_{c.pk}"]} for c in self.companies]

    def changes(self) -> list[tuple[Company, Decimal, Decimal]]:
        """(company, new price, price when drawn) for each price the organiser changed."""
        data = self.cleaned_data
        wanted = [(c, data[f"price_{c.pk}"], data[f"drawn_{c.pk}"]) for c in self.companies]
        return [(company, new, drawn) for company, new, drawn in wanted if new != drawn]


class NewsForm(forms.Form):
    title = forms.CharField(max_length=200)
    content = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))
    publish_at = forms.DateTimeField(
        required=False,
        label="Publish at",
        help_text=(
            f"Event time ({settings.EVENT_TIMEZONE}). Leave empty to publish now; a time to come makes it a news cue "
            "of the run sheet, published when the cue fires."
        ),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def clean_publish_at(self):
        at = self.cleaned_data["publish_at"]
        if at is not None and at <= timezone.now():
            raise forms.ValidationError("Pick a time in the future, or leave it empty to publish now.")
        return at


class FreezeForm(forms.Form):
    team = forms.CharField(max_length=200, label="Team", widget=forms.TextInput(attrs={"list": "team-names"}))
    frozen = forms.TypedChoiceField(
        choices=[("1", "Freeze"), ("0", "Unfreeze")], coerce=lambda value: value == "1", widget=forms.HiddenInput
    )

    def clean_team(self) -> Participant:
        name = self.cleaned_data["team"].strip()
        team = Participant.objects.filter(display_name__iexact=name).first()
        if team is None:
            raise forms.ValidationError(f"No team is called “{name}”.")
        return team


class OverlayTokenForm(forms.Form):
    confirm = forms.BooleanField(
        label="I am sure",
        error_messages={"required": "Tick “I am sure” to rotate the overlay token."},
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "id_overlay_token_%s")  # the bell's "I am sure" is on the same page
        super().__init__(*args, **kwargs)


class ReversalForm(forms.Form):
    trade = forms.UUIDField(widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500, error_messages={"required": "Say why the trade is reversed."})


class CueForm(forms.Form):
    """A cue of the run sheet, by id: fire it now, or skip it."""

    cue = forms.UUIDField(widget=forms.HiddenInput, error_messages={"required": "Say which cue."})


class TeamOrdersCancelForm(forms.Form):
    team = forms.UUIDField(widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500, error_messages={"required": "Say why the orders are cancelled."})


class RevealForm(forms.Form):
    """The podium's next place, as the page named it (the places revealed once it shows)."""

    revealed = forms.IntegerField(min_value=1, max_value=3, widget=forms.HiddenInput)


class SceneForm(forms.Form):
    """The director's choice (SPEC §8): a scene and the options it takes. The options are read
    loosely here and checked by the director itself (organisers.director.scenes.clean), so the
    panel, the API and a run-sheet cue refuse with the same words. Only the chosen scene's fields
    are read: `cleaned_data["options"]` holds its options, completed with their defaults."""

    scene = forms.ChoiceField(
        choices=[(name, SCENE_LABELS[name]) for name in SCENES],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a scene.", "invalid_choice": "Choose one of the scenes."},
    )
    top = forms.CharField(
        required=False,
        label="How many",
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_TOP, "inputmode": "numeric"}),
    )
    news = forms.CharField(required=False, label="News item", widget=forms.Select)
    to = forms.CharField(
        required=False,
        label="Count down to",
        widget=forms.RadioSelect(choices=[("bell", "The next bell"), ("time", "A time")]),
    )
    at = forms.CharField(
        required=False,
        label="Time",
        widget=forms.TextInput(attrs={"placeholder": "10:00 or 2026-12-08 10:00", "autocomplete": "off"}),
    )
    title = forms.CharField(
        required=False,
        label="Title",
        strip=False,  # the director trims it, and says so when it is too long
        widget=forms.TextInput(attrs={"maxlength": MAX_TITLE, "autocomplete": "off"}),
    )
    count = forms.CharField(
        required=False,
        label="Companies each way",
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_MOVERS, "inputmode": "numeric"}),
    )
    revealed = forms.CharField(
        required=False,
        label="Places revealed",
        widget=forms.Select(
            choices=[("0", "None (covered)"), ("1", "Third"), ("2", "Third and second"), ("3", "All three")]
        ),
    )

    def __init__(self, *args, news: list[tuple[str, str]] = (), **kwargs) -> None:
        kwargs.setdefault("auto_id", "id_director_%s")  # the news form's title is on the same page
        super().__init__(*args, **kwargs)
        self.fields["news"].widget.choices = [("", "The latest published"), *news]
        for name in ("top", "news", "at", "title", "count", "revealed"):
            self.fields[name].widget.attrs["aria-describedby"] = f"director-{name}-error"
        self.refusal = ""

    @staticmethod
    def _whole(text: str) -> int | str:
        """A whole number as typed, else the text itself (the director says what is wrong with it)."""
        try:
            return int(text.strip())
        except ValueError:
            return text

    def _options(self, scene: str) -> dict[str, Any]:
        data = self.cleaned_data
        if scene in ("leaderboard", "schools") and data["top"].strip():
            return {"top": self._whole(data["top"])}
        if scene == "movers" and data["count"].strip():
            return {"count": self._whole(data["count"])}
        if scene == "podium" and data["revealed"].strip():
            return {"revealed": self._whole(data["revealed"])}
        if scene == "news" and data["news"]:
            return {"news": data["news"]}
        if scene == "countdown":
            return {"to": data["at"].strip() if data["to"] == "time" else "bell", "title": data["title"]}
        return {}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        scene = cleaned.get("scene")
        if not scene or self.errors:  # a field already refused (a NUL character, say): said beside it
            return cleaned
        if scene == "countdown" and cleaned["to"] == "time" and not cleaned["at"].strip():
            self.add_error("at", "Give the time to count down to: 10:00, or 2026-12-08 10:00.")
            return cleaned
        try:
            cleaned["scene"], cleaned["options"] = scene_clean(scene, self._options(scene))
        except InvalidInput as refusal:
            self.refusal = refusal.detail
            for key, lines in (refusal.errors or {}).items():
                name = key.removeprefix("options.")
                if name == "to":
                    name = "at" if cleaned["to"] == "time" else "to"
                self.add_error(name if name in self.fields else None, lines)
        return cleaned


# The forms kept with their errors for the next page (a reversal's or a cancel's refusal is a message).
FORMS = {"bell": BellForm, "news": NewsForm, "freeze": FreezeForm, "overlay_token": OverlayTokenForm}
