"""The web side of metrics, importing prometheus-client only when metrics are on."""

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import Http404, HttpRequest, HttpResponse


def MetricsMiddleware(get_response):
    """Not loaded at all without ``METRICS_TOKEN``."""
    if not settings.METRICS_TOKEN:
        raise MiddlewareNotUsed
    from config.metrics import RequestMetricsMiddleware

    return RequestMetricsMiddleware(get_response)


def metrics(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: 404 while metrics are off."""
    if not settings.METRICS_TOKEN:
        raise Http404
    from config.metrics import metrics_view

    return metrics_view(request)
