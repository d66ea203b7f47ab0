"""A real gunicorn serving the project on the test database, for tests that talk HTTP."""

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from conftest import BASE_DIR, free_port, wait_until


def http(url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict, str]:
    """(status, headers, text) of one request; error statuses are answers too."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@contextmanager
def gunicorn(*, database_url: str, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Serve on a free port until the block ends; yields the base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1", "--threads", "4"],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url,
            "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            **(env or {}),
        },
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return http(f"{base}/health/")[0] in (200, 503)
        except OSError:
            return process.poll() is not None  # exited: stop waiting, the caller fails

    try:
        wait_until(up, timeout=30, interval=0.2)
        assert process.poll() is None, log.read_text()[-3000:]
        yield base
    finally:
        process.terminate()
        process.wait(20)
