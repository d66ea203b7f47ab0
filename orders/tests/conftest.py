"""Fixtures of the shop's tests: a local shipping API and a worker pointed at it."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import free_port


class ShippingApi:
    """A real HTTP server on 127.0.0.1 that fails the first ``failures`` calls with 503.

    Each answer comes after ``delay`` seconds, so calls can overlap.
    """

    def __init__(self, failures: int, delay: float = 0.0):
        self.failures, self.delay = failures, delay
        self.requests: list[bytes] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                api.requests.append(body)
                time.sleep(api.delay)
                failing = len(api.requests) <= api.failures
                reply = b'{"error": "unavailable"}' if failing else b'{"id": 101}'
                self.send_response(503 if failing else 201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/shipments"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def shipping_api(settings):
    """Factory: ``shipping_api(failures=2)`` starts a server and points the setting at it."""
    servers: list[ShippingApi] = []

    def start(failures: int, delay: float = 0.0) -> ShippingApi:
        server = ShippingApi(failures, delay)
        servers.append(server)
        settings.ORDERS_SHIPPING_API_URL = server.url
        settings.ORDERS_SHIPPING_API_TIMEOUT = 2.0
        return server

    yield start
    for server in servers:
        server.close()
