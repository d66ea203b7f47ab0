"""Where one order's time goes: one client, no contention, the benchmark's order shape.

Needs the same services as ``orders_contention.py`` (DATABASE_URL=postgres://...,
REDIS_URL, CACHE_URL). Creates a throwaway database "bench_orders_profile" and
drops it at the end. Places orders of 1-3 random products (quantity 1-3) from
one process and reports, per order: SQL statements, wall and CPU time of the
client, CPU time of its PostgreSQL backend, and the time spent in the
after-commit work (task publish, cache generation bumps). With
``BENCH_PROFILE=1`` it also prints the top of a cProfile of the client.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dev_orders .venv/bin/python bench/orders_profile.py
"""

import cProfile
import json
import os
import pstats
import random
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

from _support import orders_bench_environment, run_in_throwaway_postgres_database

orders_bench_environment()

ORDERS = int(os.environ.get("BENCH_ORDERS", 1000))
PRODUCTS = 20


def _backend_cpu_seconds(pid: int) -> float:
    """utime + stime of a local PostgreSQL backend, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    run_in_throwaway_postgres_database("bench_orders_profile", run)


def run() -> None:
    from django.core.cache import cache
    from django.db import connection

    from accounts.models import User
    from config import cache as generation_cache
    from config.celery import Task, app
    from orders.models import Product
    from orders.services import OrderLineIn, order_create

    user = User.objects.create(username="profile", email="profile@example.com")
    ids = [
        Product.objects.create(name=f"Bench {i}", price=Decimal("9.99"), stock=10**9, category="other").pk
        for i in range(PRODUCTS)
    ]
    rng = random.Random(0)
    orders = [
        [OrderLineIn(product_id=pk, quantity=rng.randint(1, 3)) for pk in rng.sample(ids, rng.randint(1, 3))]
        for _ in range(ORDERS)
    ]

    statements: Counter[str] = Counter()
    sql_seconds = 0.0

    def count(execute, sql, params, many, context):
        nonlocal sql_seconds
        statements[sql.split(" ", 1)[0].upper()] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_seconds += time.perf_counter() - started

    after_commit = Counter[str]()

    def timed(name, func):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                after_commit[name] += time.perf_counter() - started

        return wrapper

    Task.publish_quietly = timed("publish", Task.publish_quietly)
    generation_cache._generation_bump = timed("cache", generation_cache._generation_bump)

    for lines in orders[:50]:  # warm up: connections to PostgreSQL, Redis and memcached, caches
        order_create(user=user, lines=lines)
    after_commit.clear()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None

    backend_started = _backend_cpu_seconds(backend)
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    with connection.execute_wrapper(count):
        if profile:
            profile.enable()
        for lines in orders[50:]:
            order_create(user=user, lines=lines)
        if profile:
            profile.disable()
    wall = time.perf_counter() - wall_started
    cpu = time.process_time() - cpu_started
    backend_cpu = _backend_cpu_seconds(backend) - backend_started
    n = len(orders) - 50
    if str(app.conf.broker_url).startswith("redis"):
        app.control.purge()  # the receipt tasks queued by these orders
    cache.close()

    per = {k: v / n for k, v in statements.items()}
    print(f"orders: {n} from one client (no contention)")
    print("SQL statements per order: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(per.items())))
    print(f"  total {sum(per.values()):.2f}, {sql_seconds / n * 1000:.2f} ms in execute")
    print(f"client wall {wall / n * 1000:.2f} ms/order, client CPU {cpu / n * 1000:.2f} ms/order")
    print(f"PostgreSQL backend CPU {backend_cpu / n * 1000:.2f} ms/order")
    print("after commit: " + ", ".join(f"{k} {v / n * 1000:.2f} ms/order" for k, v in sorted(after_commit.items())))
    if profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    print(
        json.dumps(
            {
                "name": "orders_profile",
                "results": [
                    {"name": "statements_per_order", "value": round(sum(per.values()), 2), "unit": "statements"},
                    {"name": "client_wall_per_order", "value": round(wall / n * 1000, 2), "unit": "ms"},
                    {"name": "client_cpu_per_order", "value": round(cpu / n * 1000, 2), "unit": "ms"},
                    {"name": "backend_cpu_per_order", "value": round(backend_cpu / n * 1000, 2), "unit": "ms"},
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
