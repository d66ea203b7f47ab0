"""Deals benchmark: ingest of a generated 1,000,000-row deals.csv beside a raw COPY of
the same file, and GET /api/deals/ latency at that size, cached and uncached.

Needs: PostgreSQL (DATABASE_URL) and wrk (/usr/bin/wrk). Optional: CACHE_URL (memcached) for the cache the
server uses; without it the embedded file cache is used. The benchmark works in its
own database, <name of DATABASE_URL's database>_bench, created and migrated here, so
it never replaces the data set of the database you point it at.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dev_deals .venv/bin/python bench/deals_ingest.py

Options: --rows N (default 1,000,000), --rounds N (default 2; the best of each is
reported), --requests N for the uncached latency (default 300), --clients N
connections (default 4) and --seconds N (default 10) for the cached-under-load measure.

What is measured:
- ingest: the project's service ``deals.services.deals_upload`` on the file, in a
  fresh subprocess (validation, COPY, primary key build, aggregation, switch and
  commit, replacing the previous 1M-row data set), rows/s, and the peak RSS of that
  process (VmHWM), with its RSS after Django start-up for comparison;
- raw COPY: ``COPY bare FROM STDIN (FORMAT csv, HEADER)`` of the same file into a
  plain table with the same five columns, fed in 64 KB pieces, rows/s;
- the ratio ingest / raw COPY, rounds interleaved so both see the same machine;
- GET latency at 1M rows: uncached (the cache entry deleted before each request)
  through Django's test client in-process, and cached under load: gunicorn
  (gthread, 4 workers x 2 threads, as ``make run``) driven by wrk with N keep-alive
  connections, each sending its next request as soon as the answer arrives.

The last line printed is one JSON object with every figure.
"""

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from _support import percentile, start_gunicorn, stop

WRK = shutil.which("wrk") or "/usr/bin/wrk"

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

GEMS = ["Сапфир", "Рубин", "Изумруд", "Танзанит", "Цаворит", "Турмалин", "Аметист", "Петерсит", "Спессартин"]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """A deals.csv like the real one (CRLF, Cyrillic items, microsecond dates), larger:
    5,000 customers and 200 items, so aggregation has real work to do."""
    rnd = random.Random(seed)
    customers = [f"customer{n:05d}" for n in range(5000)]
    items = GEMS + [f"gem{n:03d}" for n in range(200 - len(GEMS))]
    start = datetime(2018, 1, 1)  # noqa: DTZ001 - naive on purpose, as in the real file
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("customer,item,total,quantity,date\r\n")
        batch = []
        for _ in range(rows):
            when = start + timedelta(seconds=rnd.randrange(60_000_000), microseconds=rnd.randrange(1, 1_000_000))
            batch.append(
                f"{rnd.choice(customers)},{rnd.choice(items)},{rnd.randrange(1, 100_000)},"
                f"{rnd.randrange(1, 10)},{when:%Y-%m-%d %H:%M:%S.%f}\r\n"
            )
            if len(batch) == 10_000:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))


def vm_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


# --- child: one ingest in a fresh process -------------------------------------


def child_ingest(path: str) -> None:
    import django

    django.setup()
    from deals.services import deals_upload

    rss_ready = vm_kb("VmRSS")
    started = time.perf_counter()
    with open(path, "rb") as file:
        dealset = deals_upload(file=file, name=Path(path).name)
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": dealset.rows, "seconds": seconds, "hwm_kb": vm_kb("VmHWM"), "ready_kb": rss_ready}))


# --- parent ----------------------------------------------------------------------


def bench_database_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_bench"))


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def run_ingest(env: dict, path: Path) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child-ingest", str(path)],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def raw_copy(url: str, path: Path) -> float:
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_bare")
        conn.execute(
            "CREATE TABLE bench_bare "
            "(customer text, item text, total numeric(12,2), quantity integer, date timestamptz)"
        )
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            path.open("rb") as file,
            cur.copy("COPY bench_bare FROM STDIN (FORMAT csv, HEADER true)") as copy,
        ):
            while data := file.read(1 << 16):
                copy.write(data)
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_bare")
        conn.commit()
    return seconds


def get_latency_uncached(requests: int) -> list[float]:
    from django.core.cache import cache
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import User
    from deals.selectors import deals_report_slot

    user, _ = User.objects.get_or_create(username="bench", defaults={"email": "bench@example.com"})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    client.get("/api/deals/")  # warm the connection and the code paths
    timings = []
    for _ in range(requests):
        cache.delete(deals_report_slot().key)
        started = time.perf_counter()
        response = client.get("/api/deals/")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content
    return timings


def get_latency_cached_under_load(env: dict, seconds: int, clients: int) -> tuple[float, float, float]:
    """p50 and p99 (ms) and requests/s of the cached GET with ``clients`` keep-alive
    connections, each sending its next request as soon as the answer arrives: wrk
    (HdrHistogram latencies; a C client, so the load tool's own cost stays small)."""
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import User

    token = str(RefreshToken.for_user(User.objects.get(username="bench")).access_token)
    server, port = start_gunicorn(env=env)
    try:
        url = f"http://127.0.0.1:{port}/api/deals/"
        command = [WRK, "-t1", f"-c{clients}", "-H", f"Authorization: Bearer {token}", "--latency", url]
        subprocess.run([*command[:3], "-d2s", *command[3:]], capture_output=True, check=True)  # warm every worker
        out = subprocess.run([*command[:3], f"-d{seconds}s", *command[3:]], capture_output=True, text=True, check=True)
        if "Non-2xx" in out.stdout:
            sys.exit(f"cached GET under load: non-2xx answers\n{out.stdout}")
        return (
            _wrk_ms(out.stdout, "50%"),
            _wrk_ms(out.stdout, "99%"),
            float(re.search(r"Requests/sec:\s+([\d.]+)", out.stdout).group(1)),
        )
    finally:
        stop(server)


def _wrk_ms(report: str, percentile_label: str) -> float:
    value, unit = re.search(rf"^\s*{percentile_label}\s+([\d.]+)(us|ms|s)\s*$", report, re.MULTILINE).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--child-ingest", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    if args.child_ingest:
        child_ingest(args.child_ingest)
        return

    source = os.environ.get("DATABASE_URL", "")
    if not source.startswith(("postgres://", "postgresql://")):
        sys.exit("needs PostgreSQL: set DATABASE_URL=postgres://...")
    url = bench_database_url(source)
    ensure_database(url)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_DEBUG": "off", "DJANGO_SECRET_KEY": "bench-" + "x" * 40}
    env["DJANGO_SECURE_SSL_REDIRECT"] = "off"
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env=env, cwd=BASE_DIR, check=True)

    with tempfile.TemporaryDirectory(prefix="deals-bench-") as tmp:
        path = Path(tmp) / "deals-1m.csv"
        started = time.perf_counter()
        generate(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows, {size_mb:.1f} MB in {time.perf_counter() - started:.1f} s")

        warm = run_ingest(env, path)  # a previous 1M-row data set for the measured ones to replace
        print(f"warm-up ingest: {warm['seconds']:.2f} s")
        ingests, copies = [], []
        for round_number in range(1, args.rounds + 1):
            copy_seconds = raw_copy(url, path)
            ingest = run_ingest(env, path)
            copies.append(args.rows / copy_seconds)
            ingests.append(ingest)
            print(
                f"round {round_number}: raw COPY {args.rows / copy_seconds:,.0f} rows/s ({copy_seconds:.2f} s); "
                f"ingest {ingest['rows'] / ingest['seconds']:,.0f} rows/s ({ingest['seconds']:.2f} s), "
                f"peak RSS {ingest['hwm_kb'] / 1024:.0f} MB (after start-up {ingest['ready_kb'] / 1024:.0f} MB)"
            )

        best_copy = max(copies)
        best = max(ingests, key=lambda r: r["rows"] / r["seconds"])
        ingest_rate = best["rows"] / best["seconds"]
        peak_mb = max(r["hwm_kb"] for r in ingests) / 1024
        ready_mb = max(r["ready_kb"] for r in ingests) / 1024
        ratio = ingest_rate / best_copy
        print(f"ingest {ingest_rate:,.0f} rows/s, raw COPY {best_copy:,.0f} rows/s: ratio {ratio:.2f} (target >= 0.5)")
        print(f"ingest peak RSS {peak_mb:.0f} MB (target < 200 MB)")

    import django

    django.setup()
    uncached = get_latency_uncached(args.requests)
    print(
        f"GET uncached at {args.rows:,} rows: p50 {statistics.median(uncached):.2f} ms, "
        f"p99 {percentile(uncached, 0.99):.2f} ms (target < 20 ms)"
    )
    cached_p50, cached_p99, cached_rate = get_latency_cached_under_load(env, args.seconds, args.clients)
    print(
        f"GET cached, {args.clients} concurrent clients on gunicorn ({cached_rate:,.0f} req/s): "
        f"p50 {cached_p50:.2f} ms, p99 {cached_p99:.2f} ms (target p99 < 10 ms)"
    )
    results = [
        {"name": "ingest_rows_per_second", "value": round(ingest_rate), "unit": "rows/s"},
        {"name": "raw_copy_rows_per_second", "value": round(best_copy), "unit": "rows/s"},
        {"name": "ingest_to_raw_copy_ratio", "value": round(ratio, 3), "unit": "ratio"},
        {"name": "ingest_peak_rss", "value": round(peak_mb, 1), "unit": "MB"},
        {"name": "ingest_rss_after_startup", "value": round(ready_mb, 1), "unit": "MB"},
        {"name": "get_uncached_p50", "value": round(statistics.median(uncached), 2), "unit": "ms"},
        {"name": "get_uncached_p99", "value": round(percentile(uncached, 0.99), 2), "unit": "ms"},
        {"name": "get_cached_under_load_p50", "value": round(cached_p50, 2), "unit": "ms"},
        {"name": "get_cached_under_load_p99", "value": round(cached_p99, 2), "unit": "ms"},
        {"name": "get_cached_under_load_rate", "value": round(cached_rate), "unit": "req/s"},
    ]
    print(json.dumps({"name": "deals_ingest", "rows": args.rows, "results": results}))


if __name__ == "__main__":
    main()
