"""The ordinary path: uncached, authenticated, paginated lists of 20 rows against bare DRF.

Needs: PostgreSQL (DATABASE_URL=postgres://...), memcached (a private instance when
the binary is installed, else CACHE_URL=pymemcache://...), gunicorn and wrk.
Creates a throwaway database "bench_list_ordinary" with one user owning 30 files,
30 orders of 2 lines and 30 checks of 2 findings (so each list's first page has
20 rows and a next page), and the reference's table of 20 rows. Then serves side
by side, under the same gunicorn settings (``config/gunicorn.py``: 2 workers x 4
threads here):

- the reference (``_reference_drf_db_list.py``): a bare DRF ``ListAPIView`` of 20
  PostgreSQL rows: no middleware, no authentication, no pagination;
- the project (none of these lists is cached), with a JWT header as a real client
  sends it: ``GET /api/files/``, ``GET /api/orders/`` (with their lines) and
  ``GET /api/codecheck/checks/``.

wrk with 16 connections drives them in alternating rounds (this machine's speed
drifts within minutes, so each ratio compares figures of the same minute) and the
ratio of each list to the reference's round is printed. Target: each >= 0.5.
Each round also reads the CPU time the server spent per request: its gunicorn
processes (master and workers) plus the PostgreSQL backends of the database,
from /proc, over the round. On a machine shared with other work the requests per
second swing with the others' load; the CPU per request much less, so the ratio
of the reference's CPU per request to a list's is printed too (the rate a list
would reach, as a share of the reference's, where the server's CPU is what binds).
BENCH_SECONDS (5) and BENCH_ROUNDS (3) set each round's length and their number.
With BENCH_METRICS=1 a second project server with metrics on (``METRICS_TOKEN``,
its own ``PROMETHEUS_MULTIPROC_DIR``) takes a turn after each list, and the ratio
on/off of each list is printed too. Target: each >= 0.9.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dev .venv/bin/python bench/list_ordinary.py
"""

import json
import os
import statistics
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from _support import (
    PRODUCTION_ENV,
    database_url,
    fill_reference_rows,
    http_bench_environment,
    start_gunicorn,
    start_memcached,
    start_reference_db_list,
    stop,
    throwaway_postgres_database,
    wrk_rate,
)

http_bench_environment()

SECONDS = int(os.environ.get("BENCH_SECONDS", 5))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
CONNECTIONS = 16
LISTS = {"files": "/api/files/", "orders": "/api/orders/", "checks": "/api/codecheck/checks/"}
ROWS = 30
METRICS = os.environ.get("BENCH_METRICS") == "1"


def make_rows(user) -> None:
    from django.utils import timezone

    from codecheck.models import Check, CodeFile, Finding
    from files.models import File
    from orders.models import Order, OrderItem, Product

    now = timezone.now()
    for i in range(ROWS):
        File.objects.create(
            owner=user,
            file=f"files/bench/{i}.txt",
            original_name=f"notes-{i}.txt",
            size=1000 + i,
            content_type="text/plain",
            kind="text",
            status="done",
            processed=True,
            result={"lines": i, "words": 10 * i},
            processed_at=now,
        )
    products = [Product.objects.create(name=f"Product {i}", price=Decimal("10.00") + i, stock=1000) for i in range(2)]
    for _ in range(ROWS):
        order = Order.objects.create(user=user, total_price=Decimal("21.00"))
        for product in products:
            OrderItem.objects.create(
                order=order, product=product, product_name=product.name, quantity=1, price_at_purchase=product.price
            )
    code_file = CodeFile.objects.create(
        owner=user, file="codecheck/bench.py", name="bench.py", version=ROWS, uploaded_at=now
    )
    for i in range(ROWS):
        check = Check.objects.create(
            file=code_file, version=i + 1, started_at=now, finished_at=now, passed=False, findings_count=2
        )
        for line in (1, 2):
            Finding.objects.create(check_log=check, line=line, column=1, code="E501", message=f"line too long ({i})")


@contextmanager
def lists_database(name: str) -> Iterator[tuple[str, str]]:
    """A throwaway database ``name`` with the rows of ``make_rows`` and the reference's
    table, for the block: yields (a JWT of the rows' owner, valid an hour; the
    database's URL). Django must be set up."""
    from django.db import connection
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User

    with throwaway_postgres_database(name):
        user = User.objects.create(username="bench", email="bench@example.com")
        make_rows(user)
        fill_reference_rows(connection)
        token = AccessToken.for_user(user)
        token.set_exp(lifetime=timedelta(hours=1))
        yield str(token), database_url(connection.settings_dict)


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(server, db_url: str) -> dict[int, float]:
    """CPU seconds used so far by each process of a gunicorn (its session: master and
    workers) and by each PostgreSQL backend connected to the database of ``db_url``
    (only the server under load queries it during its round), by process id."""
    import psycopg

    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                session = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[3])
            except (OSError, IndexError, ValueError):
                continue
            if session == server.pid:
                pids.append(int(entry.name))
    with psycopg.connect(db_url, autocommit=True) as connection:
        backends = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return {pid: _cpu_seconds(pid) for pid in [*pids, *(row[0] for row in backends)]}


def measured_round(url: str, server, db_url: str, headers: dict | None = None) -> tuple[float, float]:
    """(requests per second, server CPU milliseconds per request) of one wrk round."""
    started = server_cpu_seconds(server, db_url)
    rate = wrk_rate(url, SECONDS, headers=headers)
    # Per process: one that ended during the round (an idle database connection
    # closed) takes its CPU with it, which must not count against the others.
    spent = sum(max(0.0, cpu - started.get(pid, 0.0)) for pid, cpu in server_cpu_seconds(server, db_url).items())
    return rate, spent * 1000 / (rate * SECONDS)


def fetch(url: str, headers: dict) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
        return json.loads(response.read())


def serve_project(db_url: str, cache_url: str, extra_env: dict | None = None) -> tuple:
    env = {
        **os.environ,
        **PRODUCTION_ENV,
        "DJANGO_SECRET_KEY": os.environ["DJANGO_SECRET_KEY"],
        "DATABASE_URL": db_url,
        # Memcached as in production (a JWT request's user is read from it); none of
        # these lists is cached.
        "CACHE_URL": cache_url,
        "CACHE_KEY_PREFIX": f"bench{os.getpid()}",
        "PYTHONWARNINGS": "ignore",
        **(extra_env or {}),
    }
    return start_gunicorn(env=env)


def measure(db_url: str, cache_url: str, token: str) -> tuple[list[float], dict[str, list[float]], dict[str, list]]:
    auth = {"Authorization": f"Bearer {token}"}
    cpu: dict[str, list[float]] = {"reference": []}
    reference_proc, reference_url = start_reference_db_list(db_url)
    project_proc = metrics_proc = None
    try:
        project_proc, port = serve_project(db_url, cache_url)
        urls = {name: f"http://127.0.0.1:{port}{path}" for name, path in LISTS.items()}
        if METRICS:
            metrics_proc, metrics_port = serve_project(
                db_url,
                cache_url,
                {"METRICS_TOKEN": "bench", "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="bench-metrics-")},
            )
            urls.update({f"{name}+metrics": f"http://127.0.0.1:{metrics_port}{path}" for name, path in LISTS.items()})
            urls = {key: urls[key] for name in LISTS for key in (name, f"{name}+metrics")}
        assert len(fetch(reference_url, {})) == 20
        for name, url in urls.items():
            page = fetch(url, auth)
            assert len(page["results"]) == 20, (name, page)
            assert page["count"] == ROWS, (name, page)
            assert page["next"], (name, page)
        wrk_rate(reference_url, 2)  # warm up every worker thread and connection
        for url in urls.values():
            wrk_rate(url, 2, headers=auth)
        reference: list[float] = []
        ours: dict[str, list[float]] = {name: [] for name in urls}
        servers = {name: metrics_proc if name.endswith("+metrics") else project_proc for name in urls}
        for round_number in range(1, ROUNDS + 1):
            rate, ms = measured_round(reference_url, reference_proc, db_url)
            reference.append(rate)
            cpu["reference"].append(ms)
            line = [f"round {round_number}: reference {rate:.0f} req/s {ms:.1f} ms CPU"]
            for name, url in urls.items():
                rate, ms = measured_round(url, servers[name], db_url, auth)
                ours[name].append(rate)
                cpu.setdefault(name, []).append(ms)
                ratios = f"({rate / reference[-1]:.2f}x) {ms:.1f} ms CPU ({cpu['reference'][-1] / ms:.2f}x)"
                line.append(f"{name} {rate:.0f} {ratios}")
            print(", ".join(line), flush=True)
        return reference, ours, cpu
    finally:
        stop(reference_proc)
        for proc in (project_proc, metrics_proc):
            if proc is not None:
                stop(proc)


def main() -> None:
    import django

    django.setup()
    from django.db import connection

    with lists_database("bench_list_ordinary") as (token, db_url):
        connection.close()
        memcached, cache_url = start_memcached()
        if not (cache_url or "").startswith("pymemcache"):
            sys.exit("needs memcached (the binary, or CACHE_URL=pymemcache://...)")
        try:
            reference, ours, cpu = measure(db_url, cache_url, token)
        finally:
            if memcached is not None:
                memcached.terminate()

    results = [{"name": "reference_req_per_s", "value": round(statistics.median(reference)), "unit": "req/s"}]
    for name, rates in ours.items():
        ratios = [o / r for o, r in zip(rates, reference, strict=True)]
        median = statistics.median(ratios)
        print(
            f"{name}: {statistics.median(rates):.0f} req/s; per round {', '.join(f'{r:.2f}x' for r in ratios)}; "
            f"median {median:.2f}x of the reference (target >= 0.5x)"
        )
        results.append({"name": f"{name}_req_per_s", "value": round(statistics.median(rates)), "unit": "req/s"})
        results.append({"name": f"{name}_over_reference", "value": round(median, 3), "unit": "ratio"})
        cpu_ratios = [r / o for o, r in zip(cpu[name], cpu["reference"], strict=True)]
        print(
            f"{name}: server CPU {statistics.median(cpu[name]):.2f} ms per request (reference "
            f"{statistics.median(cpu['reference']):.2f}); reference/list per round "
            f"{', '.join(f'{r:.2f}x' for r in cpu_ratios)}; median {statistics.median(cpu_ratios):.2f}x"
        )
        results.append(
            {"name": f"{name}_server_cpu_per_request", "value": round(statistics.median(cpu[name]), 2), "unit": "ms"}
        )
        results.append(
            {
                "name": f"{name}_cpu_reference_over_list",
                "value": round(statistics.median(cpu_ratios), 3),
                "unit": "ratio",
            }
        )
    for name in LISTS if METRICS else ():
        ratios = [on / off for on, off in zip(ours[f"{name}+metrics"], ours[name], strict=True)]
        median = statistics.median(ratios)
        print(
            f"{name} metrics on/off: per round {', '.join(f'{r:.2f}' for r in ratios)}; "
            f"median {median:.2f} (target >= 0.9)"
        )
        results.append({"name": f"{name}_metrics_on_over_off", "value": round(median, 3), "unit": "ratio"})
    print(json.dumps({"name": "list_ordinary", "results": results}))


if __name__ == "__main__":
    main()
