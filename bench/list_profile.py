"""Where a list request's CPU goes: the ordinary lists and the bare DRF reference, in-process.

Needs PostgreSQL (DATABASE_URL=postgres://...) and memcached (the binary, or
CACHE_URL=pymemcache://...). Creates a throwaway database "bench_list_profile"
with the rows of ``list_ordinary.py`` and calls the WSGI application directly
(the whole middleware stack, no HTTP server, no client) with the same JWT header,
so the figures are CPU time of this process per request (``time.process_time``),
which the machine's other load changes far less than requests per second:

- ``GET /api/files/``, ``/api/orders/``, ``/api/codecheck/checks/`` of the project
  (DEBUG off, memcached; none of these lists is cached), with the number of SQL
  statements each runs;
- the reference (``_reference_drf_db_list.py``: a bare DRF ``ListAPIView`` of 20
  PostgreSQL rows), in a child process, since it is a Django project of its own.

Each round measures every list and the reference once (BENCH_BATCHES batches of
BENCH_REQUESTS requests, median); BENCH_ROUNDS (3) rounds, the range is printed.
The ratio reference/list of CPU per request is the share of the reference's rate
a list would reach where the server's CPU is the bottleneck (it leaves out
gunicorn, the HTTP parsing and PostgreSQL's own CPU, which the HTTP benchmark has).

With BENCH_PROFILE=1 each list and the reference then run under a profiling hook
(``sys.setprofile``) that splits their CPU time into parts (authentication, filters,
SQL compiling, psycopg, model instances, prefetching, serializing, rendering, the
rest; ``PARTS``), each printed as its share of the profiled time times the
unprofiled CPU per request. The hook slows call-heavy code more than the rest:
read the shares, not the sums.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dev .venv/bin/python bench/list_profile.py
"""

import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _support import PRODUCTION_ENV, start_memcached

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
BATCHES = int(os.environ.get("BENCH_BATCHES", 7))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", 30))
PROFILE = os.environ.get("BENCH_PROFILE") == "1"
LISTS = {"files": "/api/files/", "orders": "/api/orders/", "checks": "/api/codecheck/checks/"}
REFERENCE_PATH = "/api/reference/"

# Each part: the functions whose time (and their callees' time) it counts. A
# function inside another part's function counts for the innermost one: the SQL
# compiled for a prefetch is "SQL compiling", not "prefetching".
PARTS = [
    ("authentication", ["rest_framework/views.py:perform_authentication"]),
    (
        "filter form or filter serializer",
        ["django_filters/rest_framework/backends.py:filter_queryset", "rest_framework/serializers.py:is_valid"],
    ),
    ("prefetching (lookups, caches)", ["django/db/models/query.py:prefetch_related_objects"]),
    ("SQL compiling", ["django/db/models/sql/compiler.py:as_sql"]),
    ("SQL sent, rows read (psycopg)", ["psycopg/cursor.py:execute", "psycopg/cursor.py:fetchmany"]),
    ("model instances", ["django/db/models/base.py:from_db"]),
    ("serializing", ["rest_framework/serializers.py:data"]),
    ("rendering JSON", ["rest_framework/renderers.py:render"]),
]
REST = "middleware, routing, DRF, the rest"


def environ(path: str, headers: dict[str, str]) -> dict:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()},
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
    }


def caller(application, path: str, headers: dict[str, str]):
    def call() -> bytes:
        status: list[str] = []
        body = b"".join(application(environ(path, headers), lambda s, h, e=None: status.append(s)))
        if not status[0].startswith("200"):
            sys.exit(f"{path}: {status[0]} {body[:300]!r}")
        return body

    return call


def cpu_ms(call) -> float:
    """Median over BATCHES of the CPU milliseconds per request of REQUESTS calls."""
    for _ in range(10):
        call()
    batches = []
    for _ in range(BATCHES):
        started = time.process_time()
        for _ in range(REQUESTS):
            call()
        batches.append((time.process_time() - started) / REQUESTS * 1000)
    return statistics.median(batches)


def reference_child() -> None:
    """The reference's side, run as ``list_profile.py --reference``: prints its CPU ms."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _reference_drf_db_list as reference

    call = caller(reference.application, REFERENCE_PATH, {})
    cpu = cpu_ms(call)
    print(json.dumps({"cpu": cpu, "parts": breakdown(call, cpu) if PROFILE else {}}))


def reference_cpu_ms(db_url: str, *, profile: bool = False) -> dict:
    env = {
        **os.environ,
        "REFERENCE_DATABASE_URL": db_url,
        "PYTHONWARNINGS": "ignore",
        "BENCH_PROFILE": "1" if profile else "0",
    }
    out = subprocess.run([sys.executable, __file__, "--reference"], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def breakdown(call, cpu: float) -> dict[str, float]:
    """The parts of ``PARTS``, in ms per request: CPU time between profiling events
    goes to the innermost part on the stack, scaled to ``cpu`` (the unprofiled time)."""
    part_of: dict = {}  # code object -> part or None
    spent: dict[str, float] = dict.fromkeys([*(part for part, _ in PARTS), REST], 0.0)
    stack = [REST]
    last = [time.process_time()]

    def part(code) -> str | None:
        if code not in part_of:
            where = f"{code.co_filename}:{code.co_name}"
            part_of[code] = next((p for p, names in PARTS if any(where.endswith(n) for n in names)), None)
        return part_of[code]

    def profiler(frame, event, arg) -> None:
        if event not in ("call", "return"):
            return
        now = time.process_time()
        spent[stack[-1]] += now - last[0]
        if event == "call":
            stack.append(part(frame.f_code) or stack[-1])
        elif len(stack) > 1:
            stack.pop()
        last[0] = time.process_time()

    sys.setprofile(profiler)
    try:
        for _ in range(REQUESTS * BATCHES):
            call()
    finally:
        sys.setprofile(None)
    total = sum(spent.values())
    return {name: share / total * cpu for name, share in spent.items()}


@contextmanager
def production_profile_with_memcached() -> Iterator[None]:
    """This process on the production profile (its settings before Django is set up)
    and a memcached of its own (or CACHE_URL's), for the block."""
    os.environ.update({**PRODUCTION_ENV, "DJANGO_SECRET_KEY": "bench-" + "k" * 60})
    memcached, cache_url = start_memcached()
    if not (cache_url or "").startswith("pymemcache"):
        sys.exit("needs memcached (the binary, or CACHE_URL=pymemcache://...)")
    os.environ.update({"CACHE_URL": cache_url, "CACHE_KEY_PREFIX": f"bench{os.getpid()}"})
    try:
        yield
    finally:
        if memcached is not None:
            memcached.terminate()


def main() -> None:
    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from list_ordinary import lists_database

    with lists_database("bench_list_profile") as (token, db_url):
        application = get_wsgi_application()
        calls = {name: caller(application, path, {"Authorization": f"Bearer {token}"}) for name, path in LISTS.items()}
        for name, call in calls.items():
            call()  # the JWT's user is cached from the first request on
            with CaptureQueriesContext(connection) as queries:
                call()
            print(f"{name}: {len(queries)} SQL statements per request")
        reference: list[float] = []
        ours: dict[str, list[float]] = {name: [] for name in calls}
        for round_number in range(1, ROUNDS + 1):
            reference.append(reference_cpu_ms(db_url)["cpu"])
            line = [f"round {round_number}: reference {reference[-1]:.2f} ms"]
            for name, call in calls.items():
                ours[name].append(cpu_ms(call))
                line.append(f"{name} {ours[name][-1]:.2f} ms ({reference[-1] / ours[name][-1]:.2f}x)")
            print(", ".join(line), flush=True)
        parts = {}
        if PROFILE:
            parts = {name: breakdown(call, statistics.median(ours[name])) for name, call in calls.items()}
            parts["reference"] = reference_cpu_ms(db_url, profile=True)["parts"]

    results = [{"name": "reference_cpu_per_request", "value": round(statistics.median(reference), 2), "unit": "ms"}]
    for name, values in ours.items():
        ratios = [r / o for r, o in zip(reference, values, strict=True)]
        print(
            f"{name}: {statistics.median(values):.2f} ms CPU per request ({min(values):.2f}-{max(values):.2f}), "
            f"reference {statistics.median(reference):.2f} ms; ratio per round "
            f"{', '.join(f'{r:.2f}x' for r in ratios)}"
        )
        results.append({"name": f"{name}_cpu_per_request", "value": round(statistics.median(values), 2), "unit": "ms"})
        ratio = round(statistics.median(ratios), 3)
        results.append({"name": f"{name}_reference_over_list", "value": ratio, "unit": "ratio"})
    for name, split in parts.items():
        print(f"{name}, where the CPU goes (ms per request):")
        for part, ms in split.items():
            print(f"  {part:<40} {ms:5.2f}")
    print(json.dumps({"name": "list_profile", "results": results}))


if __name__ == "__main__":
    if sys.argv[1:] == ["--reference"]:
        reference_child()
    else:
        with production_profile_with_memcached():
            main()
