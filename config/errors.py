"""Application errors raised by services, and the one handler that renders them."""

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from config.parsers import RequestBodyTooLarge


class ApplicationError(Exception):
    """A business rule said no; ``message`` tells the user what to do about it."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class PermissionDenied(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class PayloadTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "too_large"


class ServiceUnavailable(ApplicationError):
    """A backing service (object storage) did not answer; nothing was written."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "unavailable"


class UnsupportedMediaType(ApplicationError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    code = "unsupported_media_type"


def api_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        # Django's own answer would be its HTML 400 page.
        exc = RequestBodyTooLarge()
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, ApplicationError):
        api_exc = exceptions.APIException(detail=exc.message, code=exc.code)
        api_exc.status_code = exc.status_code
        exc = api_exc
    return exception_handler(exc, context)


def not_found(request, exception=None):
    """404 for a URL nothing matches: JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse({"detail": "Not found."}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
