"""Idle keep-alive connections outlast a client polling every 2 s.

gunicorn's own default keeps an idle connection 2 s: a client that waits 2.0 s
between requests on one connection races the server's close and now and then
gets "Remote end closed connection without response". config/gunicorn.py keeps
them 75 s (GUNICORN_KEEPALIVE) and so does the proxy (deploy/nginx/).

Each poll waits 2.0 s after the previous answer, on one `requests.Session`
limited to one connection, and the test also asserts that this one connection
was never replaced: a silent reconnect would hide the race."""

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

from e2e.support import ROOT, env_or_skip, wait_until

POLLS = int(os.environ.get("E2E_KEEPALIVE_POLLS") or 100)
INTERVAL = 2.0
SERVICE_VARIABLES = ("DATABASE_URL", "CACHE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL", "MEMCACHED_URL")


def poll(url: str) -> tuple[list[str], int]:
    """Poll ``url`` POLLS times on one session; the failures and the TCP connections used.

    urllib3 silently reopens a connection the server closed while idle, so the
    connections are counted by their local address."""
    failures = []
    local_addresses = set()
    with requests.Session() as session:
        session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0))
        for number in range(1, POLLS + 1):
            try:
                with session.get(url, timeout=10, stream=True) as response:
                    local_addresses.add(response.raw.connection.sock.getsockname())
                    response.content  # noqa: B018  (read the body: the connection goes back to the pool)
                    if response.status_code != 200:
                        failures.append(f"poll {number}: HTTP {response.status_code}")
            except requests.RequestException as exc:
                failures.append(f"poll {number}: {exc}")
            if number < POLLS:
                time.sleep(INTERVAL)
    return failures, len(local_addresses)


@pytest.mark.keepalive
def test_compose_keeps_a_polling_connection_open(base_url):
    """Through the proxy, and on one web replica's own port (gunicorn itself), at once."""
    targets = [f"{base_url}/health/"]
    if os.environ.get("WEB_DIRECT_URL"):
        targets.append(f"{env_or_skip('WEB_DIRECT_URL')}/health/")
    with ThreadPoolExecutor(len(targets)) as pool:
        results = dict(zip(targets, pool.map(poll, targets), strict=True))

    assert results == dict.fromkeys(targets, ([], 1))


@pytest.fixture
def gunicorn_server(tmp_path: Path):
    """The web server as `make run` starts it (config/gunicorn.py) on a free port, on
    the embedded defaults (no service URL), so nothing else is needed."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES and not k.startswith("DJANGO_")}
    env.update({"VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "config.settings.base"})
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(  # noqa: S603  (our interpreter, our config)
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.py",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return requests.get(f"{url}/health/", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_until(healthy, timeout=60, what="gunicorn answering /health/")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.keepalive
def test_make_run_web_keeps_a_polling_connection_open(gunicorn_server):
    assert poll(f"{gunicorn_server}/health/") == ([], 1)
