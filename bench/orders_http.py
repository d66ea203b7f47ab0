"""Orders through HTTP: POST /api/orders/ beside a bare DRF list, then where an order's CPU goes.

Needs: PostgreSQL (DATABASE_URL=postgres://...), Redis (REDIS_URL: the broker),
memcached (a private instance when the binary is installed, else
CACHE_URL=pymemcache://...), gunicorn, wrk (/usr/bin/wrk) and Celery.
Creates a throwaway database "bench_orders_http" with 20 products, a user and the
reference's 20 rows; receipts and emails go to a temporary directory.

1. HTTP, 16 clients on keep-alive connections (wrk with a Lua script placing
   orders of 1-3 random products), under the project's gunicorn settings
   (``config/gunicorn.py``), in alternating rounds with the reference
   (``_reference_drf_db_list.py``: a bare DRF ``ListAPIView`` of 20 PostgreSQL rows)
   served the same way, each ratio printed:
   - the web tier alone: no worker (as if it ran on another host; the queue is
     purged afterwards). Target: >= 0.2x the reference;
   - with a Celery worker (``--concurrency=2``) on the same machine making the
     receipts and emails, and how many it finished per second.
2. CPU per order (``time.process_time``, cProfile), in-process on this machine:
   - the web: a POST through Django's test client, split into authentication,
     input validation, the order's transaction, publishing the task, the answer;
   - the worker: ``order_receipt_generate`` split into the PDF (reportlab) and
     the confirmation email (file backend: the message is built and written).

BENCH_SECONDS (5), BENCH_ROUNDS (3) and BENCH_PROFILE_ORDERS (200) set the round
length, their number and the orders profiled in-process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dev REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/orders_http.py
"""

import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

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
PROFILE_ORDERS = int(os.environ.get("BENCH_PROFILE_ORDERS", 200))
PRODUCTS = 20
ROOT = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).parent / "celery")

LUA = """
local ids = {%s}
math.randomseed(os.time())
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
request = function()
  local lines = {}
  for i = 1, math.random(1, 3) do
    lines[i] = string.format('{"product": %%d, "quantity": %%d}', ids[math.random(#ids)], math.random(1, 3))
  end
  return wrk.format(nil, nil, nil, '{"items": [' .. table.concat(lines, ",") .. ']}')
end
"""


def project_env(db_url: str, cache_url: str, scratch: Path) -> dict:
    broker = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL") or ""
    if not broker.startswith("redis://"):
        sys.exit("needs Redis as the broker: REDIS_URL=redis://...")
    return {
        **os.environ,
        **PRODUCTION_ENV,
        "DJANGO_SECRET_KEY": os.environ["DJANGO_SECRET_KEY"],
        "DATABASE_URL": db_url,
        "CACHE_URL": cache_url,
        "CACHE_KEY_PREFIX": f"bench{os.getpid()}",
        "CELERY_BROKER_URL": broker,
        "DJANGO_MEDIA_ROOT": str(scratch / "media"),
        "EMAIL_URL": f"filemail://{scratch / 'mail'}",
        "PYTHONWARNINGS": "ignore",
    }


def purge(env: dict) -> None:
    subprocess.run([CELERY, "-A", "config", "purge", "-f"], cwd=ROOT, env=env, capture_output=True, check=True)


def start_worker(env: dict) -> subprocess.Popen:
    worker = subprocess.Popen(
        [CELERY, "-A", "config", "worker", "--concurrency=2", "--loglevel=WARNING", "--without-heartbeat"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(5)  # the worker's boot: Django, the pool's children, the broker connection
    return worker


def receipts_done() -> int:
    from orders.models import Order

    return Order.objects.exclude(receipt="").count()


def http_rounds(label: str, order_url: str, reference_url: str, script: str) -> tuple[list, list, list]:
    """(reference req/s, orders/s, receipts/s) of each round."""
    from orders.models import Order

    reference, orders, receipts = [], [], []
    for round_number in range(1, ROUNDS + 1):
        reference.append(wrk_rate(reference_url, SECONDS))
        placed, made, started = Order.objects.count(), receipts_done(), time.monotonic()
        orders.append(wrk_rate(order_url, SECONDS, script=script))
        elapsed = time.monotonic() - started
        receipts.append((receipts_done() - made) / elapsed)
        placed = Order.objects.count() - placed
        print(
            f"{label} round {round_number}: reference {reference[-1]:.0f} req/s, orders {orders[-1]:.0f}/s "
            f"({orders[-1] / reference[-1]:.2f}x; {placed} placed), receipts made {receipts[-1]:.0f}/s",
            flush=True,
        )
    return reference, orders, receipts


def measure_http(db_url: str, cache_url: str, token: str, product_ids: list[int], scratch: Path) -> dict:
    env = project_env(db_url, cache_url, scratch)
    script = scratch / "order.lua"
    script.write_text(LUA % (", ".join(map(str, product_ids)), token))
    purge(env)
    reference_proc, reference_url = start_reference_db_list(db_url)
    project_proc = worker = None
    try:
        project_proc, port = start_gunicorn(env=env)
        order_url = f"http://127.0.0.1:{port}/api/orders/"
        wrk_rate(reference_url, 2)  # warm up every worker thread and connection
        wrk_rate(order_url, 2, script=str(script))
        web = http_rounds("web tier alone", order_url, reference_url, str(script))
        purge(env)
        worker = start_worker(env)
        both = http_rounds("with the worker", order_url, reference_url, str(script))
    finally:
        for process in (worker, project_proc, reference_proc):
            if process is not None:
                stop(process)
        purge(env)
    return {"web": web, "both": both}


def _cpu(stats: pstats.Stats, *names: str) -> float:
    """Cumulative CPU seconds of the functions ``names`` ("name", or "path/end.py:name"
    for one module's), outermost calls only."""

    def named(key: tuple) -> bool:
        filename, _, function = key
        return any(function == name.rpartition(":")[2] and filename.endswith(name.rpartition(":")[0]) for name in names)

    total = 0.0
    for key, (_, _, _, cumulative, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if named(key) and not any(named(caller) for caller in callers):
            total += cumulative
    return total


def profile_web(token: str, product_ids: list[int]) -> dict[str, float]:
    import random

    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")

    def place() -> None:
        lines = [{"product": random.choice(product_ids), "quantity": 1} for _ in range(random.randint(1, 3))]
        response = client.post("/api/orders/", {"items": lines}, content_type="application/json")
        assert response.status_code == 201, response.content

    for _ in range(20):
        place()
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(PROFILE_ORDERS):
        place()
    profile.disable()
    stats = pstats.Stats(profile)
    total = stats.total_tt  # type: ignore[attr-defined]
    parts = {
        "authentication": _cpu(stats, "rest_framework/views.py:perform_authentication"),
        "input validation (serializer, product prices)": _cpu(stats, "rest_framework/serializers.py:is_valid"),
        "order_create (transaction, SQL)": _cpu(stats, "order_create") - _cpu(stats, "delay_on_commit"),
        "task publish (Redis, after commit)": _cpu(stats, "delay_on_commit", "apply_async"),
        "answer (order_get, serializer, JSON)": _cpu(
            stats, "orders/selectors.py:order_get", "rest_framework/serializers.py:data", "renderers.py:render"
        ),
    }
    parts["middleware, routing, the rest"] = total - sum(parts.values())
    return {name: seconds / PROFILE_ORDERS * 1000 for name, seconds in {"total": total, **parts}.items()}


def profile_worker() -> dict[str, float]:
    from orders.models import Order
    from orders.services import order_receipt_generate

    ids = list(Order.objects.filter(receipt="").order_by("pk").values_list("pk", flat=True)[:PROFILE_ORDERS])
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for order_id in ids:
        order_receipt_generate(order_id=order_id)
    profile.disable()
    stats = pstats.Stats(profile)
    total = stats.total_tt  # type: ignore[attr-defined]
    parts = {
        "receipt PDF (reportlab)": _cpu(stats, "receipt_pdf_render"),
        "store the PDF (storage save)": _cpu(stats, "files/storage/base.py:save"),
        "confirmation email (build, attach, send)": _cpu(stats, "order_confirmation_send"),
    }
    parts["queries, the rest"] = total - sum(parts.values())
    return {name: seconds / len(ids) * 1000 for name, seconds in {"total": total, **parts}.items()}


@dataclass
class Shop:
    """What ``shop_database`` made: a buyer, their JWT, the products, and where things are."""

    user: Any
    token: str
    product_ids: list[int]
    db_url: str
    cache_url: str
    scratch: Path


@contextmanager
def shop_database(name: str) -> Iterator[Shop]:
    """A throwaway database ``name`` with PRODUCTS products of endless stock, a buyer and
    the reference's table, a memcached of its own and a scratch folder, for the block.
    Django must be set up; the database connection is left open for more rows."""
    from django.db import connection
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User
    from orders.models import Product

    with throwaway_postgres_database(name):
        memcached, cache_url = start_memcached()
        scratch = Path(tempfile.mkdtemp(prefix=name))
        try:
            if not (cache_url or "").startswith("pymemcache"):
                sys.exit("needs memcached (the binary, or CACHE_URL=pymemcache://...)")
            product_ids = [
                Product.objects.create(name=f"Product {i}", price=Decimal("5.00") + i, stock=10**9).pk
                for i in range(PRODUCTS)
            ]
            user = User.objects.create(username="bench", email="bench@example.com")
            fill_reference_rows(connection)
            token = AccessToken.for_user(user)
            token.set_exp(lifetime=timedelta(hours=1))
            yield Shop(user, str(token), product_ids, database_url(connection.settings_dict), cache_url, scratch)
        finally:
            if memcached is not None:
                memcached.terminate()
            subprocess.run(["rm", "-rf", str(scratch)], check=False)


def main() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    with shop_database("bench_orders_http") as shop:
        token, product_ids, scratch = shop.token, shop.product_ids, shop.scratch
        connection.close()
        http = measure_http(shop.db_url, shop.cache_url, token, product_ids, scratch)

        # In-process: this process's settings, files under the scratch directory.
        settings.MEDIA_ROOT = str(scratch / "media")
        settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
        settings.EMAIL_FILE_PATH = str(scratch / "mail")
        settings.ALLOWED_HOSTS = ["127.0.0.1"]
        settings.CELERY_TASK_ALWAYS_EAGER = False
        web_cpu = profile_web(token, product_ids)
        worker_cpu = profile_worker()

    results = []
    for phase, label in (("web", "web tier alone"), ("both", "with the worker")):
        reference, orders, receipts = http[phase]
        ratios = [o / r for o, r in zip(orders, reference, strict=True)]
        print(
            f"{label}: {statistics.median(orders):.0f} orders/s, reference {statistics.median(reference):.0f} req/s; "
            f"per round {', '.join(f'{r:.2f}x' for r in ratios)}; median {statistics.median(ratios):.2f}x"
            + (" (target >= 0.2x)" if phase == "web" else f"; receipts made {statistics.median(receipts):.0f}/s")
        )
        results += [
            {"name": f"{phase}_orders_per_s", "value": round(statistics.median(orders)), "unit": "orders/s"},
            {"name": f"{phase}_reference_req_per_s", "value": round(statistics.median(reference)), "unit": "req/s"},
            {"name": f"{phase}_over_reference", "value": round(statistics.median(ratios), 3), "unit": "ratio"},
        ]
    results.append({"name": "both_receipts_per_s", "value": round(statistics.median(http["both"][2])), "unit": "/s"})
    for title, cpu in (("web, per order (POST /api/orders/)", web_cpu), ("worker, per order", worker_cpu)):
        print(f"CPU {title}: " + "; ".join(f"{name} {ms:.2f} ms" for name, ms in cpu.items()))
    results += [{"name": f"web_cpu_ms.{k}", "value": round(v, 2), "unit": "ms"} for k, v in web_cpu.items()]
    results += [{"name": f"worker_cpu_ms.{k}", "value": round(v, 2), "unit": "ms"} for k, v in worker_cpu.items()]
    print(json.dumps({"name": "orders_http", "results": results}))


if __name__ == "__main__":
    main()
