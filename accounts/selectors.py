"""Reads of users and their API keys."""

from typing import Any

from django.db.models import QuerySet

from accounts.models import ApiKey, User
from config.cache import Slot


def user_get_by_login(*, login: str) -> User | None:
    """The user whose email (case-insensitive) or username is ``login``."""
    field = "email__iexact" if "@" in login else "username"
    return User.objects.filter(**{field: login}).order_by("pk").first()


def user_email_taken(*, email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


def user_slot(user_id: int) -> Slot:
    """The cache slot of one user, outdated by any save or delete of the user after
    commit (``accounts.signals``)."""
    return Slot(user_cache_name(user_id))


def user_for_request(*, user_id: int, read: dict[str, Any] | None = None) -> User | None:
    """The user a request's token names, from the cache when it is current, so a
    deactivated, demoted or deleted user is seen at once (within
    ``CACHE_TRUST_SECONDS`` if the cache lost the change, ``config.cache``).
    ``read``: the user's cache keys already read (``user_slot(user_id).keys()``)."""
    cached = user_slot(user_id)
    user = cached.get(read)
    if user is None:
        user = User.objects.filter(pk=user_id).first()
        if user is not None:
            cached.set(user)
    return user


def user_cache_name(user_id: int) -> str:
    return f"accounts:user:{user_id}"


def api_key_list(*, user: User) -> QuerySet[ApiKey]:
    """The user's keys still in use (revoked ones leave the list), newest first."""
    return ApiKey.objects.filter(user=user, revoked=False).order_by("-created", "-pk")
