"""Absolute links to our own pages, for places with no request to build them from (emails)."""

from django.conf import settings


def absolute_url(path: str) -> str:
    """``SITE_URL`` joined with a path that starts with ``/`` (what ``reverse()`` returns)."""
    return f"{settings.SITE_URL}{path}"
