"""One id per request, carried into the log lines and into the tasks the request enqueues;
and the request's one log line.

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
import time
import uuid
from contextvars import ContextVar

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
CELERY_HEADER = "request_id"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,200}")
_current: ContextVar[str | None] = ContextVar("request_id", default=None)
request_logger = logging.getLogger("requests")


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
        start = time.perf_counter()
        try:
            response = self.get_response(request)
            if request_logger.isEnabledFor(logging.INFO):
                _request_log(request, response, time.perf_counter() - start)
        finally:
            _current.reset(token)
        response[HEADER] = request_id
        return response


def _request_log(request: HttpRequest, response: HttpResponse, seconds: float) -> None:
    """The request's one line (gunicorn's access log is off: this one names the
    request id and the user). The user is the one authentication found, JWT
    included (DRF sets it on the request); none for anonymous callers."""
    user = getattr(request, "user", None)
    try:
        user_id = user.pk if user is not None and user.is_authenticated else None
    except DatabaseError:
        # The session's user could not be read (a database outage): the answer, a 503, still gets its line.
        user_id = None
    duration_ms = round(seconds * 1000, 1)
    request_logger.info(
        "%s %s %s %.1fms user=%s",
        request.method,
        request.get_full_path(),
        response.status_code,
        duration_ms,
        user_id if user_id is not None else "-",
        extra={
            "method": request.method,
            "path": request.path,
            "query": request.META.get("QUERY_STRING", ""),
            "status": response.status_code,
            "duration_ms": duration_ms,
            "user_id": user_id,
        },
    )


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
