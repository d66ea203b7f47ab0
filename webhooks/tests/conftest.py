"""Real webhook receivers on 127.0.0.1 and a worker configured for quick retries."""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from conftest import CeleryWorker


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    payload: dict | None  # as standardwebhooks verified it; None if verification failed
    error: str = ""
    at: float = field(default_factory=time.monotonic)


@dataclass
class Receiver:
    """A receiver that verifies each request with ``standardwebhooks`` (the oracle) and
    answers from ``script`` (statuses in turn, the last one repeated). ``hang`` makes
    it hold every request until released, as a receiver that never answers."""

    url: str = ""
    secret: str | None = None
    script: list[int] = field(default_factory=lambda: [200])
    received: list[Received] = field(default_factory=list)
    hang: threading.Event | None = None
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def answer(self) -> int:
        index = min(len(self.received) - 1, len(self.script) - 1)
        return self.script[index]

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout):
                pytest.fail(f"receiver got {len(self.received)} of {count} requests within {timeout}s")
        return self.received

    def release(self) -> None:
        """Answer the held requests, and hold no more."""
        hang, self.hang = self.hang, None
        if hang is not None:
            hang.set()

    def verified(self) -> list[dict]:
        return [r.payload for r in self.received if r.payload is not None]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = dict(self.headers.items())
            payload, error = None, ""
            if receiver.secret is not None:
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                except WebhookVerificationError as exc:
                    error = str(exc)
            with receiver.arrived:
                receiver.received.append(Received(headers=headers, body=body, payload=payload, error=error))
                receiver.arrived.notify_all()
                status = receiver.answer() if not error else 400
            hang = receiver.hang
            if hang is not None:
                hang.wait(60)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            if 300 <= status < 400:
                self.send_header("Location", receiver.url + "moved")
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def make_receiver():
    servers: list[tuple[ThreadingHTTPServer, Receiver]] = []

    def make(**kwargs) -> Receiver:
        receiver = Receiver(**kwargs)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
        server.daemon_threads = True
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append((server, receiver))
        return receiver

    yield make
    for server, receiver in servers:
        receiver.release()
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(make_receiver):
    return make_receiver()


@pytest.fixture
def quick_settings(settings):
    """Private hosts allowed (receivers are on 127.0.0.1), short timeout and retries."""
    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = True
    settings.WEBHOOKS_TIMEOUT_SECONDS = 1.0
    settings.WEBHOOKS_RETRY_SCHEDULE = [0.3, 0.3, 0.3]
    settings.WEBHOOKS_SWEEP_AFTER_SECONDS = 0
    return settings


QUICK_ENV = {
    "WEBHOOKS_ALLOW_PRIVATE_HOSTS": "1",
    "WEBHOOKS_TIMEOUT_SECONDS": "1",
    "WEBHOOKS_RETRY_SCHEDULE": "0.3,0.3,0.3",
}


@pytest.fixture
def worker_timeout() -> str:
    """The worker's WEBHOOKS_TIMEOUT_SECONDS; a test may parametrize it."""
    return QUICK_ENV["WEBHOOKS_TIMEOUT_SECONDS"]


@pytest.fixture
def hooks_worker(quick_settings, worker_timeout, monkeypatch, transactional_db, redis_url, tmp_path):
    """A real worker with two processes, handed the quick settings."""
    from config.celery import app

    for name, value in {**QUICK_ENV, "WEBHOOKS_TIMEOUT_SECONDS": worker_timeout}.items():
        monkeypatch.setenv(name, value)
    app.control.purge()
    worker = CeleryWorker(broker_url=str(app.conf.broker_url), log_path=tmp_path / "worker.log", concurrency=2)
    worker.start()
    yield worker
    worker.stop()
