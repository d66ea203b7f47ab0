"""Celery entry points of codecheck: the scheduled run, the report email and its sweeper."""

from celery import shared_task
from django.conf import settings


@shared_task(acks_late=True)
def codecheck_run_task() -> int:
    from codecheck.services import codecheck_run  # services import this module

    return codecheck_run()


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.CODECHECK_EMAIL_MAX_RETRIES,
)
def check_email_task(self, check_id: int) -> bool:
    from codecheck.services import EmailSendError, check_email_send

    try:
        return check_email_send(check_id=check_id)
    except EmailSendError as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


def _backoff(retries: int) -> int:
    """1, 2, 4, ... seconds, at most a minute: the retry chain ends well before the sweeper looks."""
    return min(60, 2**retries)


@shared_task(acks_late=True)
def check_email_sweep_task() -> list[int]:
    from codecheck.services import check_email_sweep

    return check_email_sweep()
