"""Upload-to-processed latency, p50/p95 over 200 small mixed files, with one real worker.

Starts a real Celery worker (prefork, concurrency 1) on Redis and PostgreSQL.
Each file is uploaded through the upload service (stored, row committed,
message published), then the script waits for it to be processed before the
next one, so the figure is the latency of one job without queueing. Latency is
the row's own clock: ``processed_at - uploaded_at``. A second phase uploads 200
files at once and reports how fast one worker drains them.

Services (required): DATABASE_URL (PostgreSQL), REDIS_URL (or CELERY_BROKER_URL).
Usage: .venv/bin/python bench/files_latency.py [--files 200]
"""

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from _support import PRODUCTION_ENV, ROOT, percentile

sys.path.insert(0, str(ROOT))
if not (os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL")) or not os.environ.get("DATABASE_URL"):
    sys.exit("needs DATABASE_URL (PostgreSQL) and REDIS_URL: a real worker shares them with this script")
TMP = Path(tempfile.mkdtemp(prefix="bench-files-latency-"))
ENV = {
    **PRODUCTION_ENV,
    "VAR_DIR": str(TMP / "var"),
    "DJANGO_MEDIA_ROOT": str(TMP / "media"),
    "FILES_PROCESS_DELAY_SECONDS": "0",
}
os.environ.update(ENV)

import django  # noqa: E402

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from PIL import Image  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402

from accounts.models import User  # noqa: E402
from config.celery import app  # noqa: E402
from files.models import File  # noqa: E402
from files.services import file_upload  # noqa: E402


def samples() -> list[tuple[str, bytes]]:
    """Eight small files, one per kind (two images)."""
    png, jpeg = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (320, 240), (10, 120, 200)).save(png, format="PNG")
    Image.new("RGB", (640, 480), (200, 120, 10)).save(jpeg, format="JPEG")
    pdf = io.BytesIO()
    document = canvas.Canvas(pdf)
    document.drawString(72, 720, "Invoice 42")
    document.showPage()
    document.save()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", "hello " * 500)
        zf.writestr("b.csv", "x,y\n1,2\n" * 100)
    return [
        ("photo.png", png.getvalue()),
        ("photo.jpg", jpeg.getvalue()),
        ("notes.txt", ("The quick brown fox jumps over the lazy dog.\n" * 100).encode()),
        ("table.csv", ("id,name,amount\n" + "".join(f"{i},item {i},{i * 3}\n" for i in range(200))).encode()),
        ("data.json", json.dumps({"items": list(range(300)), "ok": True}).encode()),
        ("invoice.pdf", pdf.getvalue()),
        ("bundle.zip", archive.getvalue()),
        ("blob.bin", os.urandom(20_000)),
    ]


def wait_processed(pks: list[int], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while File.objects.filter(pk__in=pks, status__in=["pending", "processing"]).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"files {pks[:5]}... not processed in {timeout}s")
        time.sleep(0.002)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench-latency", defaults={"email": "bench-latency@example.com"})
    app.control.purge()
    name = f"bench-files-{os.getpid()}@localhost"
    log = (TMP / "worker.log").open("wb")
    worker = subprocess.Popen(
        [
            *(str(ROOT / ".venv/bin/celery"), "-A", "config", "worker", "--pool=prefork", "--concurrency=1"),
            *("--without-gossip", "--without-mingle", "--loglevel=WARNING", "-n", name),
        ],
        cwd=ROOT,
        env={**os.environ, **ENV},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[name], timeout=0.5):
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError((TMP / "worker.log").read_text()[-2000:])
        files = samples()
        for sample_name, data in files:  # warm-up: the worker imports each processor once
            wait_processed([file_upload(owner=user, upload=SimpleUploadedFile(sample_name, data)).pk])

        pks = []
        for i in range(args.files):
            sample_name, data = files[i % len(files)]
            pk = file_upload(owner=user, upload=SimpleUploadedFile(sample_name, data)).pk
            wait_processed([pk])
            pks.append(pk)
        rows = File.objects.filter(pk__in=pks)
        latencies = [(f.processed_at - f.uploaded_at).total_seconds() * 1000 for f in rows]
        failed = rows.exclude(status="done").count()
        by_kind: dict[str, list[float]] = {}
        for f, ms in zip(rows, latencies, strict=True):
            by_kind.setdefault(f.kind, []).append(ms)
        p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
        print(f"one at a time, {len(pks)} files ({failed} not done): p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        for kind, values in sorted(by_kind.items()):
            print(f"  {kind:7} p50 {statistics.median(values):6.1f} ms  max {max(values):6.1f} ms")

        started = time.perf_counter()
        burst = [
            file_upload(owner=user, upload=SimpleUploadedFile(*files[i % len(files)])).pk for i in range(args.files)
        ]
        uploaded = time.perf_counter()
        wait_processed(burst, timeout=600)
        drained = time.perf_counter() - started
        rate = len(burst) / drained
        print(f"burst of {len(burst)}: uploaded in {uploaded - started:.2f} s, all processed after {drained:.2f} s")
        print(f"one worker drains {rate:.0f} files/s")
    finally:
        worker.terminate()
        worker.wait(30)
        app.control.purge()
        shutil.rmtree(TMP, ignore_errors=True)
    results = [
        {"name": "upload_to_processed_p50", "value": round(p50, 1), "unit": "ms"},
        {"name": "upload_to_processed_p95", "value": round(p95, 1), "unit": "ms"},
        {"name": "one_worker_drain_rate", "value": round(rate, 1), "unit": "files/s"},
    ]
    print(json.dumps({"name": "files_latency", "results": results}))


if __name__ == "__main__":
    main()
