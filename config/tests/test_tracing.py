"""Traces: one trace from a request to the task it enqueued, through a real worker.

The web side runs in the test process and records into the SDK's in-memory
exporter; the worker is a real process exporting over OTLP/HTTP (only because
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set) to a local receiver that decodes the
protobuf with OpenTelemetry's own message classes. The trace context travels in
the Celery message's headers through Redis.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from config.tracing import tracing_instrument, tracing_uninstrument
from conftest import CeleryWorker, wait_until
from files.models import File


class _Receiver(BaseHTTPRequestHandler):
    spans: list

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(scope_spans.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def otlp_receiver():
    """A local OTLP/HTTP trace receiver; yields (endpoint, spans received)."""
    spans: list = []
    handler = type("Receiver", (_Receiver,), {"spans": spans})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", spans
    server.shutdown()


@pytest.fixture
def web_spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing_instrument(provider)
    yield exporter
    tracing_uninstrument()


@pytest.mark.e2e
def test_a_request_and_the_task_it_enqueued_are_one_trace(
    web_spans, otlp_receiver, auth_client, transactional_db, redis_url, tmp_path, monkeypatch
):
    from config.celery import app

    endpoint, worker_spans = otlp_receiver
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "worker-under-test")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    app.control.purge()
    worker = CeleryWorker(broker_url=str(app.conf.broker_url), log_path=tmp_path / "worker.log")
    worker.start()
    try:
        response = auth_client.post(
            reverse("files-api:upload"), {"file": SimpleUploadedFile("заметки.txt", b"one two\n")}, format="multipart"
        )
        pk = response.json()["id"]
        wait_until(lambda: File.objects.get(pk=pk).status == File.Status.DONE, timeout=30)
        run = wait_until(lambda: _span(worker_spans, "run/files.tasks.file_process_task"), timeout=20)
        wait_until(lambda: any(s.trace_id == run.trace_id and s.parent_span_id == run.span_id for s in worker_spans))
    finally:
        worker.stop()
    spans = web_spans.get_finished_spans()
    (request,) = [s for s in spans if s.kind == SpanKind.SERVER and s.attributes.get("http.method") == "POST"]
    (publish,) = [s for s in spans if s.name == "apply_async/files.tasks.file_process_task"]

    trace_id = request.context.trace_id
    assert publish.context.trace_id == trace_id
    assert int.from_bytes(run.trace_id, "big") == trace_id
    # The task's run is the child of the publish, its SQL statements (psycopg) the run's children.
    assert int.from_bytes(run.parent_span_id, "big") == publish.context.span_id
    children = [s for s in worker_spans if s.parent_span_id == run.span_id]
    assert any(s.attributes and _attribute(s, "db.system") == "postgresql" for s in children)
    assert response.status_code == 201


def _span(spans: list, name: str):
    return next((s for s in spans if s.name == name), None)


def _attribute(span, key: str) -> str | None:
    for attribute in span.attributes:
        if attribute.key == key:
            return attribute.value.string_value
    return None
