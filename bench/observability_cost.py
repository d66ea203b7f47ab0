"""What metrics and JSON request logs cost: the cached product list and an uncached list,
with them on against off, in the same run.

Needs: PostgreSQL (DATABASE_URL=postgres://...), memcached (a private instance when
the binary is installed, else CACHE_URL=pymemcache://...), gunicorn and wrk.
Creates a throwaway database "bench_observability_cost" with 20 products and a
user owning 30 files, then serves the project three times side by side under the same
gunicorn settings (``config/gunicorn.py``), all in the production profile:

- off: no ``METRICS_TOKEN``, ``LOG_LEVEL=WARNING`` (no request lines);
- metrics: ``METRICS_TOKEN`` set (request, database and memcached metrics recorded
  into its own ``PROMETHEUS_MULTIPROC_DIR``), logs as off;
- on: metrics, plus ``LOG_FORMAT=json`` and ``LOG_LEVEL=INFO``: one JSON line per
  request, written to a pipe the script drains and counts.

wrk (16 connections, a JWT header) drives ``GET /api/products/`` (a memcached hit)
and ``GET /api/files/`` (PostgreSQL every time) on each, each round starting with
another server (this machine's speed drifts within minutes), and the ratio to off
is printed, and so is the servers' CPU time per request (user + system
of the gunicorn processes over the round, from /proc, divided by the requests
served), the figure a busy shared machine disturbs least: off/on of it is the
share of capacity kept. Target: each median >= 0.9.
BENCH_SECONDS (5) and BENCH_ROUNDS (3) set each round's length and their number.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dev .venv/bin/python bench/observability_cost.py
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import urllib.request
from datetime import timedelta
from decimal import Decimal

from _support import (
    PRODUCTION_ENV,
    database_url,
    http_bench_environment,
    run_in_throwaway_postgres_database,
    start_gunicorn,
    start_memcached,
    stop,
    wrk_rate,
)

http_bench_environment()

SECONDS = int(os.environ.get("BENCH_SECONDS", 5))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
LISTS = {"cached products": "/api/products/", "uncached files": "/api/files/"}
TOKEN = "bench-metrics"
# off: neither; metrics: metrics only; on: metrics and a JSON line per request.
STATES = ("off", "metrics", "on")


def make_rows():
    from django.utils import timezone

    from accounts.models import User
    from files.models import File
    from orders.models import Product

    for i in range(20):
        Product.objects.create(name=f"Товар {i}", description="Для замера. " * 3, price=Decimal("10.00") + i, stock=5)
    user = User.objects.create(username="bench", email="bench@example.com")
    now = timezone.now()
    for i in range(30):
        File.objects.create(
            owner=user,
            file=f"files/bench/{i}.txt",
            original_name=f"заметки-{i}.txt",
            size=1000 + i,
            content_type="text/plain",
            kind="text",
            status="done",
            processed=True,
            result={"lines": i},
            processed_at=now,
        )
    return user


class Server:
    """gunicorn as the other benchmarks start it, its log lines on a pipe that a thread
    drains and counts (so the on-server is seen to log every request)."""

    def __init__(self, env: dict):
        self.lines = 0
        self.process, self.port = start_gunicorn(env=env, stderr=subprocess.PIPE)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.process.stderr:
            if line.startswith(b'{"level": "INFO", "logger": "requests"'):
                self.lines += 1

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server's processes (its session: the master and
        its workers) so far, from /proc."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == self.process.pid:  # the session id (field 6)
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / tick

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def fetch(url: str, headers: dict) -> tuple[dict, str]:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
        return json.loads(response.read()), response.headers.get("X-Cache", "")


def scrape(server: Server) -> str:
    request = urllib.request.Request(server.url("/metrics"), headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def measure(db_url: str, cache_url: str, token: str) -> tuple[dict, dict]:
    """Requests/s, and the servers' CPU time per request (what a loaded machine
    disturbs least), of each list off and on, round by round."""
    auth = {"Authorization": f"Bearer {token}"}
    common = {
        **os.environ,
        **PRODUCTION_ENV,
        "DJANGO_SECRET_KEY": os.environ["DJANGO_SECRET_KEY"],
        "DATABASE_URL": db_url,
        "CACHE_URL": cache_url,
        "CACHE_KEY_PREFIX": f"bench{os.getpid()}",
        "PYTHONWARNINGS": "ignore",
    }
    on_env = {
        **common,
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="bench-metrics-"),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
    }
    metrics_only_env = {**on_env, "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="bench-metrics-")}
    metrics_only_env.update({"LOG_FORMAT": "plain", "LOG_LEVEL": "WARNING"})
    servers = {"off": Server(common), "metrics": Server(metrics_only_env), "on": Server(on_env)}
    try:
        for state, server in servers.items():
            for name, path in LISTS.items():
                page, _ = fetch(server.url(path), auth)
                assert len(page["results"]) == 20, (state, name, page)
                _, cache_state = fetch(server.url(path), auth)
                print(f"{state}: {name} answers 20 rows (X-Cache: {cache_state or 'none'})")
        for server in servers.values():
            for path in LISTS.values():
                wrk_rate(server.url(path), 2, headers=auth)  # warm up every worker thread and connection
        rates: dict[str, dict[str, list[float]]] = {name: {state: [] for state in STATES} for name in LISTS}
        cpu: dict[str, dict[str, list[float]]] = {name: {state: [] for state in STATES} for name in LISTS}
        for round_number in range(1, ROUNDS + 1):
            line = [f"round {round_number}:"]
            # Each round starts with another server.
            order = STATES[round_number % 3 :] + STATES[: round_number % 3]
            for name, path in LISTS.items():
                for state in order:
                    before = servers[state].cpu_seconds()
                    rate = wrk_rate(servers[state].url(path), SECONDS, headers=auth)
                    rates[name][state].append(rate)
                    cpu[name][state].append((servers[state].cpu_seconds() - before) / (rate * SECONDS) * 1e6)
                line.append(
                    f"{name}: "
                    + ", ".join(
                        f"{state} {rates[name][state][-1]:.0f} req/s {cpu[name][state][-1]:.0f} µs" for state in STATES
                    )
                    + ";"
                )
            print(" ".join(line), flush=True)
        metrics = scrape(servers["on"])
        assert 'http_requests_total{method="GET",status="200",view="orders-api:product-list"}' in metrics
        assert "db_query_duration_seconds_count" in metrics
        assert "cache_operation_duration_seconds_count" in metrics
        print(f"on: {servers['on'].lines} JSON request lines logged; /metrics counts both lists, SQL and memcached")
        assert servers["on"].lines > 0
        return rates, cpu
    finally:
        for server in servers.values():
            stop(server.process)


def main() -> None:
    results: list[dict] = []

    def run() -> None:
        from django.db import connection
        from rest_framework_simplejwt.tokens import AccessToken

        user = make_rows()
        token = AccessToken.for_user(user)
        token.set_exp(lifetime=timedelta(hours=1))
        db_url = database_url(connection.settings_dict)
        connection.close()
        memcached, cache_url = start_memcached()
        if not (cache_url or "").startswith("pymemcache"):
            sys.exit("needs memcached (the binary, or CACHE_URL=pymemcache://...)")
        try:
            rates, cpu = measure(db_url, str(cache_url), str(token))
        finally:
            if memcached is not None:
                memcached.terminate()
        for name in LISTS:
            key = name.replace(" ", "_")
            for state in ("metrics", "on"):
                # Capacity kept: off's CPU per request over this one's (>= 0.9: at most a 10% loss).
                off_cpu, cpu_state = cpu[name]["off"], cpu[name][state]
                kept = statistics.median([o / s for o, s in zip(off_cpu, cpu_state, strict=True)])
                rate = statistics.median([s / o for s, o in zip(rates[name][state], rates[name]["off"], strict=True)])
                print(
                    f"{name}, {state} against off: CPU per request {statistics.median(off_cpu):.0f} -> "
                    f"{statistics.median(cpu_state):.0f} µs, off/{state} median {kept:.2f}; req/s "
                    f"{statistics.median(rates[name]['off']):.0f} -> {statistics.median(rates[name][state]):.0f}, "
                    f"{state}/off median {rate:.2f} (target >= 0.9)"
                )
                results.extend(
                    [
                        {"name": f"{key}_{state}_cpu_kept", "value": round(kept, 3), "unit": "ratio"},
                        {"name": f"{key}_{state}_req_per_s_over_off", "value": round(rate, 3), "unit": "ratio"},
                    ]
                )
            for state in STATES:
                results.append(
                    {
                        "name": f"{key}_{state}_cpu_us_per_request",
                        "value": round(statistics.median(cpu[name][state])),
                        "unit": "µs",
                    }
                )

    run_in_throwaway_postgres_database("bench_observability_cost", run)
    print(json.dumps({"name": "observability_cost", "results": results}))


if __name__ == "__main__":
    main()
