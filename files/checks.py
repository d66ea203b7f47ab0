"""Configuration checks: the sweeper must not take files from live workers; libmagic must be there."""

from django.conf import settings
from django.core.checks import Warning, register


@register()
def stale_timeout_exceeds_task_time_limit(app_configs, **kwargs):
    """A task runs at most CELERY_TASK_TIME_LIMIT seconds; a file processing for
    longer than FILES_STALE_AFTER_SECONDS is presumed abandoned. If the second
    is not longer, the sweeper re-drives files whose worker is still at work
    (the fencing token keeps the result right, but the work is done twice)."""
    stale = settings.FILES_STALE_AFTER_SECONDS
    limit = settings.CELERY_TASK_TIME_LIMIT
    if stale > limit:
        return []
    return [
        Warning(
            f"FILES_STALE_AFTER_SECONDS ({stale}) should be longer than CELERY_TASK_TIME_LIMIT ({limit}).",
            hint="Raise FILES_STALE_AFTER_SECONDS, or the sweeper will re-drive files still being processed.",
            id="files.W001",
        )
    ]


@register()
def libmagic_is_installed(app_configs, **kwargs):
    """Text files are typed by libmagic (text/html, image/svg+xml, ...); without
    the system library every text file is reported as text/plain."""
    from files.services.detection import libmagic_available

    if libmagic_available():
        return []
    return [
        Warning(
            "libmagic is not installed: text files are reported as text/plain.",
            hint="Install the system library (Debian/Ubuntu: apt-get install libmagic1).",
            id="files.W002",
        )
    ]
