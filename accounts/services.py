"""Writes of users and their API keys."""

import re
import secrets
from typing import cast

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import ApiKey, User
from accounts.selectors import user_email_taken
from config.errors import NotFound

DUPLICATE_EMAIL = "A user with this email already exists."


def _username_from_email(email: str) -> str:
    # Usernames allow only letters, digits and @.+-_; an email's local part allows more.
    base = re.sub(r"[^\w.@+-]", "", email.split("@", 1)[0])[:120] or "user"
    candidate = base
    while User.objects.filter(username=candidate).exists():
        candidate = f"{base}-{secrets.token_hex(3)}"
    return candidate


@transaction.atomic
def user_create(*, email: str, password: str, username: str | None = None) -> User:
    """Create a user with a unique (case-insensitive) email and a password that
    passes the validators; ``create_user`` alone would skip the validators."""
    email = User.objects.normalize_email(email)
    if user_email_taken(email=email):
        raise ValidationError({"email": [DUPLICATE_EMAIL]})
    if username and User.objects.filter(username=username).exists():
        raise ValidationError({"username": ["A user with that username already exists."]})
    user = User(email=email, username=username or _username_from_email(email))
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    try:
        # The unique index is the last word when two sign-ups race.
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise ValidationError({"email": [DUPLICATE_EMAIL]}) from exc
    return user


def api_key_create(*, user: User, name: str) -> tuple[ApiKey, str]:
    """A new key for ``user``: the key itself is returned once and only its hash is kept."""
    api_key, key = ApiKey.objects.create_key(user=user, name=name)
    return cast(ApiKey, api_key), key


def api_key_revoke(*, user: User, key_id: int) -> None:
    """Revoke one of the user's keys for good; it stops working at once (keys are
    read from the database on every request, never cached). Another user's key,
    or one already revoked, is not found."""
    if not ApiKey.objects.filter(pk=key_id, user=user, revoked=False).update(revoked=True):
        raise NotFound("No API key with this id among your keys.")
