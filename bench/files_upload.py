"""Upload throughput (MB/s) and the web process's RSS growth for a 200 MB upload.

Starts a real gunicorn (gthread, 1 worker, 4 threads) on 127.0.0.1 and streams a
200 MB multipart body to POST /api/upload/ with a raw socket, while sampling the
gunicorn worker's RSS from /proc every 5 ms. Uploads stream to a temporary file
and are then moved (renamed) into MEDIA_ROOT.

Services: DATABASE_URL (PostgreSQL) if set, else SQLite in a temporary folder;
REDIS_URL / CELERY_BROKER_URL if set (the queued messages are purged at the
end), else the filesystem broker. FILES_MAX_UPLOAD_BYTES is raised to 300 MB
for the server (the default limit is 100 MB).
Usage: .venv/bin/python bench/files_upload.py [--mb 200] [--runs 3]
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from _support import PRODUCTION_ENV, ROOT, start_gunicorn, stop

sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="bench-files-upload-"))
ENV = {
    **PRODUCTION_ENV,
    "VAR_DIR": str(TMP / "var"),
    "DJANGO_MEDIA_ROOT": str(TMP / "media"),
    "DJANGO_FILE_UPLOAD_TEMP_DIR": str(TMP / "upload-tmp"),
    "FILES_MAX_UPLOAD_BYTES": str(300 * 1024 * 1024),
}
os.environ.update(ENV)
(TMP / "upload-tmp").mkdir(parents=True)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from accounts.models import User  # noqa: E402

MB = 1024 * 1024


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


class Sampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.005)


def upload(port: int, token: str, size: int) -> tuple[int, float, dict]:
    """Stream a multipart body of ``size`` file bytes; return status, seconds and the JSON answer."""
    boundary = "benchboundary0123456789"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    block = os.urandom(MB)
    length = len(head) + size + len(tail)
    request = (
        f"POST /api/upload/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request + head)
        sent = 0
        while sent < size:
            chunk = block[: min(MB, size - sent)]
            sock.sendall(chunk)
            sent += len(chunk)
        sock.sendall(tail)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    elapsed = time.perf_counter() - started
    status = int(answer.split(b" ", 2)[1])
    body = answer.split(b"\r\n\r\n", 1)[1]
    return status, elapsed, json.loads(body) if body.startswith(b"{") else {}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.mb * MB

    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench-upload", defaults={"email": "bench-upload@example.com"})
    token = str(RefreshToken.for_user(user).access_token)
    server, port = start_gunicorn(env={**os.environ, **ENV}, workers=1, extra=("--timeout=120",))
    try:
        pid = worker_pid(server.pid)
        status, _, _ = upload(port, token, 64 * 1024)  # warm up: every import done, connections open
        assert status == 201, status
        baseline = rss_kb(pid)
        speeds, growths = [], []
        for run in range(args.runs):
            sampler = Sampler(pid)
            sampler.start()
            status, elapsed, body = upload(port, token, size)
            sampler.running = False
            sampler.join()
            assert status == 201, (status, body)
            assert body["size"] == size, body
            speed = size / MB / elapsed
            growth = (sampler.peak - baseline) / 1024
            speeds.append(speed)
            growths.append(growth)
            print(f"run {run + 1}: {args.mb} MB in {elapsed:.2f} s = {speed:.0f} MB/s; peak RSS +{growth:.1f} MB")
        print(f"web worker RSS before: {baseline / 1024:.1f} MB")
        print(f"median throughput {statistics.median(speeds):.0f} MB/s; worst RSS growth {max(growths):.1f} MB")
    finally:
        stop(server)
        if os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL"):
            from config.celery import app

            app.control.purge()
        shutil.rmtree(TMP, ignore_errors=True)
    results = [
        {"name": f"upload_{args.mb}mb_throughput", "value": round(statistics.median(speeds), 1), "unit": "MB/s"},
        {"name": f"upload_{args.mb}mb_peak_rss_growth", "value": round(max(growths), 1), "unit": "MB"},
    ]
    print(json.dumps({"name": "files_upload", "results": results}))


if __name__ == "__main__":
    main()
