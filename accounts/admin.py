from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, ReadOnlyPasswordHashField
from django.contrib.auth.models import Group

from accounts.models import User


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


# Roles decide access; Django's groups and permissions are not used.
admin.site.unregister(Group)
