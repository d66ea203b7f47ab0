"""The one Celery app: JSON only, late acks, every task's life logged."""

import logging
import os
import time
from functools import partial

from celery import Celery, signals
from celery.contrib.django.task import DjangoTask
from django.db import transaction

from config.request_id import (
    request_id_current,
    task_headers_add,
    task_request_id_enter,
    task_request_id_leave,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

logger = logging.getLogger("tasks")


class Task(DjangoTask):
    """Enqueue after commit, and never let a failed publish break the request.

    The database row is the source of truth and the message only wakes a
    worker: if the broker is down, the app's sweeper re-drives the row later.
    So a publish error is logged, never raised into a request whose
    transaction has already committed.
    """

    def delay_on_commit(self, *args, **kwargs) -> None:
        transaction.on_commit(partial(self.publish_quietly, args, kwargs))

    def apply_async_on_commit(self, args=None, kwargs=None, **options) -> None:
        transaction.on_commit(partial(self.publish_quietly, args, kwargs, **options))

    def publish_quietly(self, args=None, kwargs=None, **options) -> bool:
        """Publish now; on a broker error log it and return False."""
        try:
            self.apply_async(args, kwargs, **options)
        except Exception:
            logger.warning("could not publish %s%s; the sweeper will re-drive it", self.name, args or (), exc_info=True)
            return False
        return True


app = Celery("config", task_cls=Task)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Each task is logged once at INFO, when it ends (Celery's own per-task lines are
# silenced in LOGGING); its start is at DEBUG. Retries and failures are warnings and errors.
_started: dict[str, float] = {}


@signals.setup_logging.connect
def _django_logging(**_):
    """Workers and beat log through ``LOGGING`` like the web (JSON lines with
    LOG_FORMAT=json) instead of Celery's own handler: with a receiver here Celery
    leaves the logging configuration alone."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@signals.before_task_publish.connect
def _carry_request_id(headers=None, **_):
    task_headers_add(headers)


@signals.task_prerun.connect
def _log_start(task_id=None, task=None, args=None, **_):
    task_request_id_enter(task.request)
    _started[task_id] = time.monotonic()
    logger.debug("task started name=%s id=%s args=%s", task.name, task_id, args)


@signals.task_postrun.connect
def _forget_start(task_id=None, **_):
    _started.pop(task_id, None)
    task_request_id_leave()


def _elapsed(task_id: str) -> float:
    return time.monotonic() - _started.get(task_id, time.monotonic())


def _outcome(task_name: str, task_id: str, state: str) -> dict:
    """The task line's fields (the JSON keys of LOG_FORMAT=json)."""
    runtime_ms = round(_elapsed(task_id) * 1000, 1)
    return {"task_name": task_name, "task_id": task_id, "state": state, "runtime_ms": runtime_ms}


@signals.task_success.connect
def _log_success(sender=None, **_):
    request = sender.request
    fields = _outcome(sender.name, request.id, "succeeded")
    logger.info(
        "task succeeded name=%s id=%s args=%s in %.3fs request_id=%s",
        sender.name,
        request.id,
        request.args,
        fields["runtime_ms"] / 1000,
        request_id_current() or "-",
        extra=fields,
    )


@signals.task_retry.connect
def _log_retry(sender=None, request=None, reason=None, **_):
    logger.warning(
        "task retry name=%s id=%s request_id=%s reason=%s",
        sender.name,
        request.id,
        request_id_current() or "-",
        reason,
        extra=_outcome(sender.name, request.id, "retried"),
    )


@signals.task_failure.connect
def _log_failure(sender=None, task_id=None, exception=None, traceback=None, **_):
    logger.error(
        "task failed name=%s id=%s request_id=%s error=%r",
        sender.name,
        task_id,
        request_id_current() or "-",
        exception,
        exc_info=(type(exception), exception, traceback) if exception is not None else None,
        extra=_outcome(sender.name, task_id, "failed"),
    )
