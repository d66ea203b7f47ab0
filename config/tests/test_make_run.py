"""`make run`'s Procfile on embedded defaults: no service URL, every process up."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from config.gunicorn import worker_count
from conftest import BASE_DIR, free_port, wait_until

SERVICE_VARIABLES = ("DATABASE_URL", "CACHE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL", "MEMCACHED_URL")


def _request(url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _upload(url: str, token: str, name: str, content: bytes) -> dict:
    boundary = "----embedded-defaults"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return json.loads(response.read())


@pytest.fixture
def embedded_system(tmp_path: Path):
    if not Path(BASE_DIR, ".venv/bin/honcho").exists():
        pytest.skip("needs the project virtualenv (.venv) that `make` creates")
    port, flower_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES and not k.startswith("DJANGO_")}
    env.update(
        {
            "VAR_DIR": str(tmp_path / "var"),
            "PORT": str(port),
            "FLOWER_PORT": str(flower_port),
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
        }
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True, timeout=120
    )
    log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen(
        [str(BASE_DIR / ".venv/bin/honcho"), "start", "-f", "Procfile"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _request(f"{base}/health/")[0] == 200:
                break
        except OSError:
            time.sleep(0.5)
    yield base, tmp_path / "run.log", flower_port
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def _listening_sockets(port: int) -> int:
    """Sockets in state LISTEN (0A) on 127.0.0.1:``port``, from the kernel's table."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if row[1] == f"0100007F:{port:04X}" and row[3] == "0A")


@pytest.mark.e2e
def test_each_web_worker_listens_on_its_own_socket(embedded_system):
    """config/gunicorn.py: one worker per CPU, each on its own socket (reuse_port),
    so the kernel, not the first worker to wake, spreads the connections."""
    base, _log, _flower_port = embedded_system
    workers = worker_count(os.environ)

    assert wait_until(lambda: _listening_sockets(int(base.rsplit(":", 1)[1])) == workers)


@pytest.mark.e2e
def test_embedded_defaults_serve_auth_and_process_uploads(embedded_system):
    base, log, flower_port = embedded_system

    health = _request(f"{base}/health/")
    registered = _request(
        f"{base}/api/auth/register/", {"email": "run@example.com", "password": "correct-horse-battery"}
    )
    tokens = _request(f"{base}/api/auth/login/", {"email": "run@example.com", "password": "correct-horse-battery"})[1]
    me = _request(f"{base}/api/auth/me/", token=tokens["access"])

    assert health == (200, {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}})
    assert registered[0] == 201
    assert me == (200, {"id": registered[1]["id"], "email": "run@example.com", "username": "run", "is_staff": False})
    uploaded = _upload(f"{base}/api/upload/", tokens["access"], "notes.txt", b"one two three\nfour\n")

    def processed_file():
        body = _request(f"{base}/api/files/{uploaded['id']}/", token=tokens["access"])[1]
        return body if body["processed"] else None

    final = wait_until(processed_file)
    assert (final["kind"], final["result"]["words"], final["result"]["lines"]) == ("text", 4, 2)
    output = log.read_text()
    assert "worker.1" in output
    assert "beat.1" in output
    assert "filesystem://" in output  # the worker is on the serverless broker
    with urllib.request.urlopen(f"http://127.0.0.1:{flower_port}/healthcheck", timeout=10) as flower:
        assert flower.read() == b"OK"
