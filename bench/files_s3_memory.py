"""Memory of the storage path to an S3 bucket: storing an upload and reading it back
for processing, for two file sizes, against reading the same file whole (the reference).

Starts a moto S3 server (server mode, its own process) on 127.0.0.1, writes random
files of --small and --large MB, then in a child process each (so each peak RSS is
its own): the upload path (``default_storage.save`` from the temporary file, as
``file_upload`` does; boto3 sends it in parts), the processing path (the stored
file opened through the storage and read in 1 MB chunks, as the processors do;
django-storages spools it to a temporary file past AWS_S3_MAX_MEMORY_SIZE), and
``read()`` of the whole local file. Flat memory means the same growth at both sizes.
Usage: .venv/bin/python bench/files_s3_memory.py [--small 16] [--large 128]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _support import ROOT, free_port, wait_for_port

CHILD = """
import json, os, resource, sys
import django
django.setup()
from django.core.files import File
from django.core.files.storage import default_storage
path, how = sys.argv[1], sys.argv[2]
name = "bench/" + os.path.basename(path)
default_storage.exists(name)  # boto3's client is made before the measurement
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if how == "save":
    with open(path, "rb") as handle:
        default_storage.save(name, File(handle, name=name))
elif how == "read":
    with default_storage.open(name, "rb") as stream:
        while stream.read(1024 * 1024):
            pass
else:
    with open(path, "rb") as handle:
        handle.read()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rss_growth_mb": (after - before) / 1024}))
"""


def in_child(path: Path, how: str, env: dict) -> float:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), how], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])["rss_growth_mb"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=16)
    parser.add_argument("--large", type=int, default=128)
    args = parser.parse_args()

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        endpoint = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "LOG_LEVEL": "WARNING",
            "AWS_STORAGE_BUCKET_NAME": "bench",
            "AWS_S3_ENDPOINT_URL": endpoint,
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_S3_ACCESS_KEY_ID": "bench",
            "AWS_S3_SECRET_ACCESS_KEY": "bench-secret",
        }
        import boto3

        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench-secret",
        ).create_bucket(Bucket="bench")
        figures = {}
        with tempfile.TemporaryDirectory() as folder:
            for size in (args.small, args.large):
                path = Path(folder) / f"file-{size}mb"
                with path.open("wb") as out:
                    for _ in range(size):
                        out.write(os.urandom(1024 * 1024))
                figures[size] = {how: in_child(path, how, env) for how in ("save", "read", "whole")}
                path.unlink()
    finally:
        server.terminate()
        server.wait(10)

    print("peak RSS growth (MB) in a fresh process, moto S3 server on 127.0.0.1")
    print(f"{'file':>8} {'store to S3':>12} {'read from S3':>13} {'reference: read() whole':>24}")
    for size, row in figures.items():
        print(f"{size:>6}MB {row['save']:>12.1f} {row['read']:>13.1f} {row['whole']:>24.1f}")
    print(json.dumps({"benchmark": "files_s3_memory", "rss_growth_mb": {str(k): v for k, v in figures.items()}}))


if __name__ == "__main__":
    main()
