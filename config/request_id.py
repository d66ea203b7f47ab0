"""One id per request, carried into the log lines and into the tasks the request enqueues.

The id is the client's ``X-Request-ID`` when it is 1-200 characters of
``[A-Za-z0-9._:-]``, else a new one; every response carries it back. While a
request runs it lives in a context variable, so log lines name it (the
``request_id`` field of ``LOGGING``'s filter) and every task published in the
meantime (after commit included) takes it along as a message header; the worker
restores it while the task runs. An upload can be followed from its POST to its
processing by one id.
"""

import logging
import re
import uuid
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
CELERY_HEADER = "request_id"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,200}")
_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def request_id_current() -> str | None:
    return _current.get()


def request_id_for(value: str | None) -> str:
    """The client's id when it is sane, else a new one."""
    return value if value is not None and _SANE.fullmatch(value) else uuid.uuid4().hex


class RequestIdMiddleware:
    """First in ``MIDDLEWARE``: every answer, redirects and errors included, names its id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request.META.get("HTTP_X_REQUEST_ID"))
        token = _current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Gives every log record a ``request_id`` ("-" outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get() or "-"
        return True


def task_headers_add(headers: dict | None) -> None:
    """Celery's ``before_task_publish``: the message takes the current request's id."""
    request_id = _current.get()
    if headers is not None and request_id is not None:
        headers.setdefault(CELERY_HEADER, request_id)


def task_request_id_enter(task_request) -> None:
    """Celery's ``task_prerun``: the task runs under the id of the request that sent it."""
    _current.set(getattr(task_request, CELERY_HEADER, None))


def task_request_id_leave() -> None:
    _current.set(None)
