"""The cost of telling JSON from text: the upload's check of the first 64 KB and
the worker's streaming parse of a whole file, against json.loads of the same file.

Writes a JSON array of about --mb MB to a temporary folder, then in a child
process each (so each peak RSS is its own): the JSON processor (ijson, read
in 1 MB chunks) and json.loads of the whole file. Also times detect() on 64 KB
samples (JSON, UTF-8 text, latin-1 text). Needs no service.
Usage: .venv/bin/python bench/files_json_stream.py [--mb 100]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _support import ROOT

CHILD = """
import json, os, resource, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
django.setup()
from files.services.processors import JsonProcessor
path, how = sys.argv[1], sys.argv[2]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
with open(path, "rb") as stream:
    if how == "stream":
        JsonProcessor().process(file=None, stream=stream)
    else:
        json.loads(stream.read())
seconds = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "rss_growth_mb": (after - before) / 1024}))
"""


def write_json(path: Path, megabytes: int) -> int:
    with path.open("w") as out:
        out.write("[")
        i = 0
        while out.tell() < megabytes * 1_000_000:
            row = {"id": i, "name": f"item {i}", "tags": ["a", "b"], "price": 12.5}
            out.write(("," if i else "") + json.dumps(row))
            i += 1
        out.write("]")
    return path.stat().st_size


def in_child(path: Path, how: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), how], env=env, capture_output=True, text=True)
    done.check_returncode()
    return json.loads(done.stdout.strip().splitlines()[-1])


def detect_ms(sample: bytes, rounds: int = 20) -> float:
    from files.services.detection import detect

    started = time.perf_counter()
    for _ in range(rounds):
        detect(sample)
    return (time.perf_counter() - started) / rounds * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=100)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()
    from files.services.detection import SAMPLE_BYTES
    from files.tests.samples import FRENCH

    with tempfile.TemporaryDirectory(prefix="bench-files-json-") as folder:
        path = Path(folder) / "big.json"
        size = write_json(path, args.mb)
        streamed = in_child(path, "stream")
        loaded = in_child(path, "loads")
        samples = {
            "json": path.read_bytes()[:SAMPLE_BYTES],
            "utf-8 text": (FRENCH * 400).encode("utf-8")[:SAMPLE_BYTES],
            "latin-1 text": (FRENCH * 400).encode("latin-1")[:SAMPLE_BYTES],
        }
    results: dict[str, object] = {"size_mb": round(size / 1e6, 1)}
    for name, figures in (("ijson stream", streamed), ("json.loads", loaded)):
        rate = size / 1e6 / figures["seconds"]
        print(f"{name:12}: {figures['seconds']:.1f} s, {rate:.1f} MB/s, peak RSS +{figures['rss_growth_mb']:.0f} MB")
        results[name] = {k: round(v, 2) for k, v in figures.items()}
    for name, sample in samples.items():
        ms = detect_ms(sample)
        print(f"detect(64 KB {name}): {ms:.1f} ms")
        results[f"detect {name} ms"] = round(ms, 2)
    print(json.dumps({"name": "files_json_stream", "results": results}))


if __name__ == "__main__":
    main()
