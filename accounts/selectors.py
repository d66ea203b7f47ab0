"""Reads of users."""

from accounts.models import User


def user_get_by_login(*, login: str) -> User | None:
    """The user whose email (case-insensitive) or username is ``login``."""
    field = "email__iexact" if "@" in login else "username"
    return User.objects.filter(**{field: login}).order_by("pk").first()


def user_email_taken(*, email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()
