"""Orders per second: 16 concurrent clients contending for 20 products on PostgreSQL, zero oversell.

Needs: PostgreSQL (DATABASE_URL=postgres://...). Uses REDIS_URL as the broker when set
(each order publishes its receipt task after commit, as in production; the
queued messages are purged at the end), else an in-memory broker; CACHE_URL
(memcached) when set, for the cache invalidation each order does.
Creates a throwaway database "bench_orders_contention" and drops it at the end.

Each client is a separate process (like a gunicorn worker) with its own
database connection, placing orders of 1-3 random products (quantity 1-3)
through ``order_create`` until the time is up or the stock runs out. At the
end every product's stock must equal its initial stock minus what the orders
hold, and never be negative.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dev_orders .venv/bin/python bench/orders_contention.py
"""

import json
import multiprocessing
import os
import random
import sys
import time
from decimal import Decimal

from _support import orders_bench_environment, run_in_throwaway_postgres_database

orders_bench_environment()

CLIENTS = int(os.environ.get("BENCH_CLIENTS", 16))
PRODUCTS = 20
STOCK_PER_PRODUCT = int(os.environ.get("BENCH_STOCK", 1000))
SECONDS = float(os.environ.get("BENCH_SECONDS", 15))


def client(i: int, user_id: int, ids: list[int], barrier, results) -> None:
    """One buyer process: place orders until the deadline or until nothing is left."""
    from django.db import connection

    from accounts.models import User
    from orders.errors import InsufficientStock
    from orders.models import Product
    from orders.services import OrderLineIn, order_create

    rng = random.Random(i)
    user = User.objects.get(pk=user_id)
    placed = refused = 0
    errors: list[str] = []
    last = 0.0
    User.objects.filter(pk=user_id).exists()  # connect before the start
    barrier.wait()
    deadline = time.time() + SECONDS
    while time.time() < deadline:
        picked = rng.sample(ids, rng.randint(1, 3))
        lines = [OrderLineIn(product_id=pk, quantity=rng.randint(1, 3)) for pk in picked]
        try:
            order_create(user=user, lines=lines)
            placed += 1
            last = time.time()
        except InsufficientStock:
            refused += 1
            if not Product.objects.filter(stock__gt=0).exists():
                break
        except Exception as exc:  # deadlocks, constraint violations: all count as errors
            errors.append(repr(exc))
    connection.close()
    results.put((placed, refused, errors, last))


def main() -> None:
    run_in_throwaway_postgres_database("bench_orders_contention", run)


def run() -> None:
    from django.conf import settings
    from django.core.cache import caches
    from django.db import connection

    from accounts.models import User
    from config.celery import app
    from orders.models import OrderItem, Product

    users = [User.objects.create(username=f"bench{i}", email=f"bench{i}@example.com").pk for i in range(CLIENTS)]
    ids = [
        Product.objects.create(name=f"Bench {i}", price=Decimal("9.99"), stock=STOCK_PER_PRODUCT, category="other").pk
        for i in range(PRODUCTS)
    ]
    # Forked children must not share the parent's sockets (database, memcached).
    connection.close()
    caches.close_all()

    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    barrier = ctx.Barrier(CLIENTS + 1)
    procs = [ctx.Process(target=client, args=(i, users[i], ids, barrier, results)) for i in range(CLIENTS)]
    for p in procs:
        p.start()
    barrier.wait()  # every client is connected and ready
    start_at = time.time()
    outcomes = [results.get(timeout=SECONDS + 120) for _ in procs]
    for p in procs:
        p.join()

    placed = sum(o[0] for o in outcomes)
    refused = sum(o[1] for o in outcomes)
    errors = [e for o in outcomes for e in o[2]]
    elapsed = max(o[3] for o in outcomes) - start_at if placed else 0.0
    sold = dict.fromkeys(ids, 0)
    for pk, quantity in OrderItem.objects.values_list("product_id", "quantity"):
        sold[pk] += quantity
    final = dict(Product.objects.values_list("pk", "stock"))
    oversold = sum(1 for pk in ids if final[pk] < 0 or final[pk] != STOCK_PER_PRODUCT - sold[pk])
    rate = placed / elapsed if elapsed else 0.0
    broker = str(app.conf.broker_url)
    if broker.startswith("redis"):
        app.control.purge()

    print(f"clients: {CLIENTS} processes, products: {PRODUCTS}, stock per product: {STOCK_PER_PRODUCT}")
    print(f"broker: {broker.split('@')[-1]}, cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}")
    print(f"orders placed: {placed} in {elapsed:.2f} s -> {rate:.0f} orders/s")
    print(f"orders refused for stock: {refused}; errors: {len(errors)} {errors[:3]}")
    print(f"units sold: {sum(sold.values())} of {STOCK_PER_PRODUCT * PRODUCTS}; products oversold: {oversold}")
    print(
        json.dumps(
            {
                "name": "orders_contention",
                "results": [
                    {"name": "orders_per_second", "value": round(rate, 1), "unit": "orders/s"},
                    {"name": "orders_placed", "value": placed, "unit": "orders"},
                    {"name": "oversold_products", "value": oversold, "unit": "products"},
                    {"name": "errors", "value": len(errors), "unit": "errors"},
                ],
            }
        )
    )
    if oversold or errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
