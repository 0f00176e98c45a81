from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm


class PlainLabels:
    """Labels as written ("E-mail", not "E-mail:")."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SigninForm(PlainLabels, AuthenticationForm):
    error_messages = {
        "invalid_login": "The e-mail or password is wrong.",
        "inactive": "This account is disabled. Ask the organisers.",
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "E-mail"
        self.fields["username"].widget.attrs.update({"autocomplete": "email", "inputmode": "email"})


class PasswordForm(PlainLabels, PasswordChangeForm):
    pass
