"""Web forms: sign up with email and password, log in with email or username."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError

from accounts.services import user_create


class SignupForm(forms.Form):
    email = forms.EmailField(max_length=254)
    username = forms.CharField(
        label="Name (optional)",
        max_length=150,
        required=False,
        validators=[UnicodeUsernameValidator()],
        help_text="How we greet you; letters in any script, digits and @.+-_. From your email if empty.",
    )
    password = forms.CharField(widget=forms.PasswordInput, strip=False, max_length=128)

    def save(self):
        try:
            return user_create(
                email=self.cleaned_data["email"],
                password=self.cleaned_data["password"],
                username=self.cleaned_data["username"] or None,
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
            return None


class LoginForm(AuthenticationForm):
    username = forms.CharField(label="Email or username", max_length=254)
