"""Sustained requests/s of POST /api/upload/ and GET /api/files/ under gunicorn, driven by wrk.

Starts gunicorn as in production (gthread, 4 workers x 2 threads, as the
Procfile) on 127.0.0.1 against PostgreSQL, gives a user 20 files, then runs
``wrk`` (keep-alive connections) for each endpoint: GET lists the 20 rows (one
page), POST uploads a 1 KB text file as multipart (stored, row committed,
message published; no worker runs, the messages are purged at the end).

Services: DATABASE_URL (PostgreSQL, required); REDIS_URL or CELERY_BROKER_URL
(the broker the uploads publish to; without it, the filesystem broker).
Tool: wrk (/usr/bin/wrk). Usage: .venv/bin/python bench/files_load.py [--seconds 10] [--connections 16]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _support import PRODUCTION_ENV, ROOT, start_gunicorn, stop

sys.path.insert(0, str(ROOT))
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("needs DATABASE_URL=postgres://... (the figures are for PostgreSQL)")
if not shutil.which("wrk"):
    sys.exit("needs wrk (apt-get install wrk)")
TMP = Path(tempfile.mkdtemp(prefix="bench-files-load-"))
ENV = {
    **PRODUCTION_ENV,
    "VAR_DIR": str(TMP / "var"),
    "DJANGO_MEDIA_ROOT": str(TMP / "media"),
}
os.environ.update(ENV)

import django  # noqa: E402

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from accounts.models import User  # noqa: E402
from files.services import file_upload  # noqa: E402

BOUNDARY = "wrkboundary0123456789"
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def cpu_seconds(master: int) -> float:
    """User + system CPU time of the gunicorn workers (children of the master)."""
    total = 0
    for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def lua_upload_script() -> Path:
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="note.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
        + "All work and no play makes Jack a dull boy.\n" * 23
        + f"\r\n--{BOUNDARY}--\r\n"
    )
    script = TMP / "upload.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        f'wrk.headers["Content-Type"] = "multipart/form-data; boundary={BOUNDARY}"\n'
    )
    return script


def run_wrk(url: str, token: str, seconds: int, connections: int, master: int, script: Path | None = None) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {token}"]
    if script:
        command += ["-s", str(script)]
    cpu_before = cpu_seconds(master)
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(master) - cpu_before
    print(output)
    latency = {
        share: float(value) * UNITS[unit]
        for share, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return {
        "cpu_ms": 1000 * cpu / max(requests, 1),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": latency["50"],
        "p99": latency["99"],
        "errors": int(errors.group(1)) if errors else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    User.objects.filter(username="bench-load").delete()
    user = User.objects.create_user(username="bench-load", email="bench-load@example.com")
    for i in range(20):
        file_upload(owner=user, upload=SimpleUploadedFile(f"seed-{i}.txt", f"seed file {i}\n".encode()))
    token = str(RefreshToken.for_user(user).access_token)
    server, port = start_gunicorn(env={**os.environ, **ENV})
    base = f"http://127.0.0.1:{port}"
    try:
        run_wrk(f"{base}/api/files/", token, 2, args.connections, server.pid)  # warm-up: imports, connections
        print("== GET /api/files/ (20 rows)")
        listing = run_wrk(f"{base}/api/files/", token, args.seconds, args.connections, server.pid)
        print("== POST /api/upload/ (1 KB text file)")
        uploads = run_wrk(f"{base}/api/upload/", token, args.seconds, args.connections, server.pid, lua_upload_script())
        stored = user.files.count() - 20
    finally:
        stop(server)
        if os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL"):
            from config.celery import app

            app.control.purge()
        User.objects.filter(username="bench-load").delete()
        shutil.rmtree(TMP, ignore_errors=True)
    print(f"GET  /api/files/  {listing['rps']:.0f} req/s, p50 {listing['p50']:.1f} ms, p99 {listing['p99']:.1f} ms")
    print(f"POST /api/upload/ {uploads['rps']:.0f} req/s, p50 {uploads['p50']:.1f} ms, p99 {uploads['p99']:.1f} ms")
    print(f"web CPU per request: GET {listing['cpu_ms']:.1f} ms, POST {uploads['cpu_ms']:.1f} ms")
    print(f"uploads stored: {stored}; non-2xx: GET {listing['errors']}, POST {uploads['errors']}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    results = [
        {"name": "list_files_rps", "value": listing["rps"], "unit": "req/s"},
        {"name": "list_files_p99", "value": round(listing["p99"], 1), "unit": "ms"},
        {"name": "list_files_web_cpu", "value": round(listing["cpu_ms"], 2), "unit": "ms/request"},
        {"name": "upload_rps", "value": uploads["rps"], "unit": "req/s"},
        {"name": "upload_p99", "value": round(uploads["p99"], 1), "unit": "ms"},
        {"name": "upload_web_cpu", "value": round(uploads["cpu_ms"], 2), "unit": "ms/request"},
        {"name": "non_2xx_responses", "value": listing["errors"] + uploads["errors"], "unit": "count"},
    ]
    print(json.dumps({"name": "files_load", "results": results}))


if __name__ == "__main__":
    main()
