"""While PostgreSQL is unreachable: a JSON 503 with Retry-After under /api/, a plain
503 page elsewhere (no traceback, even with DEBUG), and service again once it is back.

A real server process talks to the test database through a TCP proxy that the test
closes (every connection dropped, nothing listening), as when PostgreSQL goes down.
"""

import contextlib
import selectors
import socket
import threading

import pytest
from django.conf import settings
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory
from config.tests.server import gunicorn, http
from conftest import free_port, wait_until


class TcpProxy:
    """Forwards 127.0.0.1:<port> to an upstream address until stopped; can start again."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Nothing listens any more and every open connection is cut."""
        if self._listener is not None:
            # close() alone leaves a socket blocked in accept() listening.
            self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            with self._lock:
                self._sockets.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        try:
            while True:
                for key, _ in selector.select():
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
        except (OSError, ValueError):
            return
        finally:
            selector.close()
            for sock in (a, b):
                sock.close()


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, str]:
    return http(url, headers=headers)


def _post(url: str, body: bytes) -> tuple[int, dict, str]:
    return http(url, body=body, headers={"Content-Type": "application/json"})


@pytest.fixture
def server_behind_proxy(postgres, transactional_db, tmp_path):
    db = settings.DATABASES["default"]
    proxy = TcpProxy((db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432)))
    proxy.start()
    database_url = f"postgres://{db.get('USER') or 'postgres'}@127.0.0.1:{proxy.port}/{db['NAME']}"
    try:
        # DEBUG on: the traceback page must not show even so.
        with gunicorn(database_url=database_url, log=tmp_path / "server.log", env={"DJANGO_DEBUG": "1"}) as base:
            yield base, proxy
    finally:
        proxy.stop()


def test_database_outage_is_a_503_and_service_comes_back(server_behind_proxy):
    base, proxy = server_behind_proxy
    user = UserFactory(password="a-Long-password-42")
    bearer = {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}
    login = b'{"username": "%s", "password": "a-Long-password-42"}' % user.username.encode()
    web = Client()
    web.force_login(user)
    session = {"Cookie": f"sessionid={web.cookies['sessionid'].value}"}
    assert _get(f"{base}/api/orders/", bearer)[0] == 200  # a persistent connection is open now

    proxy.stop()

    for status, headers, body in [_get(f"{base}/api/orders/", bearer), _post(f"{base}/api/auth/login/", login)]:
        assert status == 503, body
        assert headers["Content-Type"] == "application/json"
        assert headers["Retry-After"] == "5"
        assert "unavailable" in body
    # Pages read the session (and its user) from the database.
    for path in ["/", "/codecheck/", "/admin/"]:
        status, headers, body = _get(f"{base}{path}", session)
        assert status == 503, (path, body[:500])
        assert headers["Content-Type"].startswith("text/html")
        assert headers["Retry-After"] == "5"
        assert "Traceback" not in body
        assert "OperationalError" not in body
    status, _, body = _get(f"{base}/health/")
    assert status == 503
    assert '"database":"error"' in body.replace(" ", "")

    proxy.start()

    # Nothing to restart: the next requests find the database again.
    wait_until(lambda: _get(f"{base}/api/orders/", bearer)[0] == 200, timeout=10, interval=0.2)
    assert _post(f"{base}/api/auth/login/", login)[0] == 200
    assert _get(f"{base}/", session)[0] == 200
