"""The forms of a team's account pages: sign-up (the API's rules: SignupSerializer) and the
team's name and school."""

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from accounts.forms import PlainLabels
from accounts.models import User
from market.models import Participant
from market.serializers import SignupSerializer


class SignupForm(PlainLabels, forms.Form):
    """The sign-up page. The rules are the API's (SignupSerializer); this form only adds the
    repeated password and shows each message beside its field."""

    display_name = forms.CharField(label="Team name", max_length=80)
    school = forms.CharField(label="School", max_length=120, required=False)
    email = forms.EmailField(label="E-mail", max_length=254)
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters; not a common password, not like your e-mail.",
    )
    password2 = forms.CharField(
        label="Repeat the password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        if data["password"] != data["password2"]:
            self.add_error("password2", "The two passwords are not the same.")
            return data
        fields = {name: data[name] for name in ("email", "password", "display_name", "school")}
        serializer = SignupSerializer(data=fields)
        if not serializer.is_valid():
            errors = dict(serializer.errors)
            if "password" not in errors:
                # The serializer checks the password only once the other fields pass: check it
                # now too, so the team fixes everything in one go.
                try:
                    password_validation.validate_password(data["password"], user=User(email=data["email"]))
                except ValidationError as exc:
                    errors["password"] = exc.messages
            for field, messages in errors.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, str(message))
            return data
        return {**data, **serializer.validated_data}


class TeamForm(PlainLabels, forms.ModelForm):
    class Meta:
        model = Participant
        fields = ["display_name", "school"]
        labels = {"display_name": "Team name", "school": "School"}
        widgets = {"display_name": forms.TextInput(), "school": forms.TextInput()}

    def clean_display_name(self) -> str:
        name = self.cleaned_data["display_name"].strip()
        if not name:
            raise forms.ValidationError("Give your team a name.")
        if len(name) > 80:
            raise forms.ValidationError("Use at most 80 characters.")
        taken = Participant.objects.filter(display_name__iexact=name).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("This team name is taken.")
        return name

    def clean_school(self) -> str:
        school = self.cleaned_data["school"].strip()
        if len(school) > 120:
            raise forms.ValidationError("Use at most 120 characters.")
        return school
