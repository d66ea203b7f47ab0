"""Traces (OpenTelemetry): off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

Then every process (web and Celery alike, from ``PlatformConfig.ready()``, before
any connection is opened or middleware loaded) sends its spans to that OTLP/HTTP
collector: one span per request (Django), per task run and per publish (Celery),
per SQL statement (psycopg), per Redis command and per memcached call. A task's
message carries the publishing span's context in its headers (W3C trace
context), so a request and the tasks it enqueued are one trace. The SDK reads
the other ``OTEL_*`` variables itself (``OTEL_SERVICE_NAME``, sampling, ...).
"""

import os

from django.conf import settings


def _instrumentors() -> list:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.pymemcache import PymemcacheInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    return [
        DjangoInstrumentor(),
        CeleryInstrumentor(),
        PsycopgInstrumentor(),
        RedisInstrumentor(),
        PymemcacheInstrumentor(),
    ]


def tracing_instrument(tracer_provider) -> None:
    """Instrument the five libraries, sending spans to ``tracer_provider``."""
    for instrumentor in _instrumentors():
        instrumentor.instrument(tracer_provider=tracer_provider)


def tracing_uninstrument() -> None:
    for instrumentor in _instrumentors():
        instrumentor.uninstrument()


def tracing_setup() -> None:
    """With an endpoint set: batch spans to it over OTLP/HTTP. The batch processor's
    thread is restarted in each forked child (gunicorn workers, Celery's pool)."""
    if not settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT itself and appends /v1/traces.
    os.environ.setdefault("OTEL_EXPORTER_OTLP_ENDPOINT", settings.OTEL_EXPORTER_OTLP_ENDPOINT)
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "four-products")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    tracing_instrument(provider)
