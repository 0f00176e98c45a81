from django import forms
from django.contrib import admin
from django.contrib.auth import password_validation
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, ReadOnlyPasswordHashField
from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import Role, User
from accounts.services import user_sign_out_everywhere
from common.read_cache import reads_changed
from market.services import audit


class UserCreationForm(forms.ModelForm):
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput, strip=False)

    class Meta:
        model = User
        fields = ["email", "role"]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this e-mail already exists.")
        return email

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        elif cleaned.get("password1"):
            try:
                password_validation.validate_password(cleaned["password1"], user=User(email=cleaned.get("email", "")))
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.set_password(self.cleaned_data["password1"])
        if commit:
            user.save()
        return user


class UserChangeForm(forms.ModelForm):
    password = ReadOnlyPasswordHashField(
        label="Password", help_text='Set a new one with <a href="../password/">this form</a>.'
    )

    class Meta:
        model = User
        fields = ["email", "password", "role", "is_active"]

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        if role != Role.PARTICIPANT and hasattr(self.instance, "participant"):
            raise forms.ValidationError(
                f"This account has a team ({self.instance.participant.display_name}): an organiser cannot "
                "have one. Delete the team first, or use another account."
            )
        return role


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ["email", "role", "is_active", "team", "created_at", "last_login"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "participant__display_name"]
    ordering = ["email"]
    readonly_fields = ["created_at", "updated_at", "last_login"]
    filter_horizontal: list = []
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Access", {"fields": ["role", "is_active"]}),
        ("Dates", {"fields": ["last_login", "created_at", "updated_at"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "role", "password1", "password2"]})]
    list_select_related = ["participant"]

    @admin.display(description="team", ordering="participant__display_name")
    def team(self, user: User) -> str:
        participant = getattr(user, "participant", None)
        return participant.display_name if participant else "—"

    # Every change to an account is in the audit log, with what it was and what it became. An
    # account that loses its access (deactivated, new password, another role) is signed out
    # everywhere: its API tokens go and its open live connections close.

    @transaction.atomic
    def save_model(self, request, obj: User, form, change: bool) -> None:
        before = User.objects.filter(pk=obj.pk).values(*AUDITED_FIELDS).first() if change else None
        super().save_model(request, obj, form, change)
        after = {name: getattr(obj, name) for name in AUDITED_FIELDS}
        if before is None:
            audit(by=request.user, action="user_create", target=f"user:{obj.pk}", new=after)
            return
        changed = sorted(name for name in AUDITED_FIELDS if before[name] != after[name])
        if not changed:
            return
        audit(
            by=request.user,
            action="user_update",
            target=f"user:{obj.pk}",
            old={name: before[name] for name in changed},
            new={name: after[name] for name in changed},
        )
        if {"role", "is_active"} & set(changed):
            user_sign_out_everywhere(obj)

    @transaction.atomic
    def delete_model(self, request, obj: User) -> None:
        audit(by=request.user, action="user_delete", target=f"user:{obj.pk}", old=_described(obj))
        super().delete_model(request, obj)
        reads_changed("leaderboard")  # a team's account takes the team with it

    @transaction.atomic
    def delete_queryset(self, request, queryset) -> None:
        for user in queryset:
            audit(by=request.user, action="user_delete", target=f"user:{user.pk}", old=_described(user))
        super().delete_queryset(request, queryset)
        reads_changed("leaderboard")

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:  # the new password was saved
            user = User.objects.get(pk=id)
            audit(by=request.user, action="user_password_set", target=f"user:{user.pk}", email=user.email)
            user_sign_out_everywhere(user)
        return response


AUDITED_FIELDS = ("email", "role", "is_active")


def _described(user: User) -> dict:
    return {name: getattr(user, name) for name in AUDITED_FIELDS}


# Roles decide access; Django's groups and permissions are not used.
admin.site.unregister(Group)

admin.site.site_header = "Brainstorm — organisers"
admin.site.site_title = "Brainstorm admin"
admin.site.index_title = "Event administration"
