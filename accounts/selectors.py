"""Reads of users."""

from typing import Any

from django.conf import settings

from accounts.models import User
from config.cache import CachedAnswer


def user_get_by_login(*, login: str) -> User | None:
    """The user whose email (case-insensitive) or username is ``login``."""
    field = "email__iexact" if "@" in login else "username"
    return User.objects.filter(**{field: login}).order_by("pk").first()


def user_email_taken(*, email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


def user_answer(user_id: int) -> CachedAnswer:
    """The cache slot of one user, for ``USER_CACHE_SECONDS`` under a generation that any
    save or delete of the user bumps after commit (``accounts.signals``)."""
    return CachedAnswer(
        generation_key=user_generation_key(user_id),
        key=f"accounts:user:{user_id}",
        timeout=settings.USER_CACHE_SECONDS,
    )


def user_for_request(*, user_id: int, read: dict[str, Any] | None = None) -> User | None:
    """The user a request's token names, from the cache when it is current, so a
    deactivated, demoted or deleted user is seen at once, never after the timeout.
    ``read``: the user's cache keys already read (``user_answer(user_id).keys()``)."""
    cached = user_answer(user_id)
    user = cached.get(read)
    if user is None:
        user = User.objects.filter(pk=user_id).first()
        if user is not None:
            cached.set(user)
    return user


def user_generation_key(user_id: int) -> str:
    return f"accounts:user:{user_id}:gen"
