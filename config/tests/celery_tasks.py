"""Tasks that only tests send: a worker started by a test imports them (CELERY_IMPORTS
of config.settings.test), so its outcomes can be made to order."""

from celery import shared_task
from django.db import connection


@shared_task(ignore_result=True)
def outcome_fail_task(message: str) -> None:
    """Fails on a database error (a statement naming no table that exists)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s FROM no_such_table_{message}", [message])


@shared_task(bind=True, ignore_result=True, max_retries=1)
def outcome_retry_once_task(self) -> None:
    """Retried once (at once), then succeeds."""
    if self.request.retries == 0:
        raise self.retry(countdown=0)
