"""Answers the API owes its clients even when the request never reaches a view's own
error handling: a database outage, and a 404 under ``/api/`` with DEBUG on."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# How long a client is asked to wait while the database is unreachable.
DATABASE_RETRY_AFTER_SECONDS = 5
_UNAVAILABLE_PAGE = (
    "<!doctype html><html><head><title>Service unavailable</title></head><body>"
    "<h1>Service unavailable</h1><p>The service is briefly unavailable. Please try again in a few seconds.</p>"
    "</body></html>"
)


def database_unavailable(request) -> HttpResponse:
    """503 with Retry-After: JSON under /api/, a plain page elsewhere (never a traceback)."""
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
    if request.path.startswith(API_PREFIX):
        return JsonResponse(
            {"detail": "The service is briefly unavailable; try again shortly."}, status=503, headers=headers
        )
    return HttpResponse(_UNAVAILABLE_PAGE, status=503, headers=headers)


class ApiErrorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # With DEBUG off handler404 already answers JSON; with DEBUG on Django's
        # technical 404 page (HTML) would reach API clients instead.
        if (
            response.status_code == 404
            and request.path.startswith(API_PREFIX)
            and not response.get("Content-Type", "").startswith("application/json")
            and not response.has_header("Content-Disposition")
        ):
            return JsonResponse({"detail": "Not found."}, status=404)
        return response

    def process_exception(self, request, exception):
        # Both DRF and plain views let database errors through to here.
        if isinstance(exception, OperationalError | InterfaceError):
            logger.warning("database unavailable: %s: %s", exception.__class__.__name__, exception)
            return database_unavailable(request)
        return None
