"""Integrations through HTTP: what an Idempotency-Key and an API key cost a request.

Needs: PostgreSQL (DATABASE_URL=postgres://...), Redis (REDIS_URL: the broker),
memcached (a private instance when the binary is installed, else
CACHE_URL=pymemcache://...), gunicorn and wrk (/usr/bin/wrk).
Creates a throwaway database "bench_integrations_http" with 20 products, a user
with an API key and 20 files; no worker runs (the queue is purged afterwards).

1. HTTP, under the project's gunicorn settings (``config/gunicorn.py``), 16
   clients on keep-alive connections, in short alternating rounds (BENCH_ROUNDS,
   10; BENCH_SECONDS, 2 s each: a busy machine's load drifts over seconds, so each
   figure is measured beside its reference many times). Ratios: of the totals,
   and the median of the rounds' ratios.
   - ``POST /api/orders/`` (orders of 1-3 random products, the Lua script of
     ``orders_http.py``) with a new ``Idempotency-Key`` on every request, beside
     the same requests without one. Target: >= 0.9x.
   - ``GET /api/files/`` (a page of 20 files, not cached) with ``Authorization:
     Api-Key``, beside the same request with a JWT (``Bearer``).
2. In-process (Django's test client, BENCH_PROFILE_ORDERS, 600, in batches of 50
   alternating): wall time and this process's CPU time per order, with and without
   a key. Less sensitive to other load than throughput; the database's own work
   shows only in the wall time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dev REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/integrations_http.py
"""

import itertools
import json
import os
import statistics
import time
import uuid
from pathlib import Path

from _support import (
    http_bench_environment,
    start_gunicorn,
    stop,
    wrk_rate,
)
from orders_http import project_env, purge, shop_database  # the same server and broker set-up as the orders benchmark

http_bench_environment()

SECONDS = int(os.environ.get("BENCH_SECONDS", 2))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 10))
PROFILE_ORDERS = int(os.environ.get("BENCH_PROFILE_ORDERS", 600))
BATCH = 50
PRODUCTS = 20
FILES = 20

# %(ids)s, %(token)s, %(keyed)s ("true": a new Idempotency-Key per request), %(run)s.
LUA = """
local ids = {%(ids)s}
local keyed = %(keyed)s
local threads, counter = 0, 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
math.randomseed(os.time())
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
request = function()
  local lines = {}
  for i = 1, math.random(1, 3) do
    lines[i] = string.format('{"product": %%d, "quantity": %%d}', ids[math.random(#ids)], math.random(1, 3))
  end
  if keyed then
    counter = counter + 1
    wrk.headers["Idempotency-Key"] = string.format("%(run)s-%%d-%%d", tid, counter)
  end
  return wrk.format(nil, nil, nil, '{"items": [' .. table.concat(lines, ",") .. ']}')
end
"""


def order_script(scratch: Path, product_ids: list[int], token: str, *, keyed: bool) -> str:
    """A wrk script placing orders; keyed: each with a new Idempotency-Key (new per call)."""
    path = scratch / f"order-{'keyed' if keyed else 'plain'}.lua"
    ids = ", ".join(map(str, product_ids))
    path.write_text(LUA % {"ids": ids, "token": token, "keyed": str(keyed).lower(), "run": uuid.uuid4().hex})
    return str(path)


def measure(db_url: str, cache_url: str, token: str, api_key: str, product_ids: list[int], scratch: Path) -> dict:
    env = project_env(db_url, cache_url, scratch)
    purge(env)
    project = None
    rounds: dict[str, list[float]] = {"plain": [], "keyed": [], "jwt": [], "api_key": []}
    try:
        project, port = start_gunicorn(env=env)
        orders_url, files_url = f"http://127.0.0.1:{port}/api/orders/", f"http://127.0.0.1:{port}/api/files/"
        jwt, key = {"Authorization": f"Bearer {token}"}, {"Authorization": f"Api-Key {api_key}"}
        # Warm up every worker thread and connection, on every path measured.
        wrk_rate(orders_url, 2, script=order_script(scratch, product_ids, token, keyed=True))
        wrk_rate(files_url, 2, headers=key)
        for number in range(1, ROUNDS + 1):
            # Alternate which goes first, so a drift of the machine's load favours neither.
            for keyed in (False, True) if number % 2 else (True, False):
                script = order_script(scratch, product_ids, token, keyed=keyed)
                rounds["keyed" if keyed else "plain"].append(wrk_rate(orders_url, SECONDS, script=script))
            for name, headers in (("jwt", jwt), ("api_key", key)) if number % 2 else (("api_key", key), ("jwt", jwt)):
                rounds[name].append(wrk_rate(files_url, SECONDS, headers=headers))
            print(
                f"round {number}: orders {rounds['plain'][-1]:.0f}/s without a key, {rounds['keyed'][-1]:.0f}/s "
                f"with one ({rounds['keyed'][-1] / rounds['plain'][-1]:.2f}x); GET /api/files/ "
                f"{rounds['jwt'][-1]:.0f} req/s with a JWT, {rounds['api_key'][-1]:.0f} with an API key "
                f"({rounds['api_key'][-1] / rounds['jwt'][-1]:.2f}x)",
                flush=True,
            )
    finally:
        if project is not None:
            stop(project)
        purge(env)
    return rounds


def in_process(token: str, product_ids: list[int]) -> dict[str, dict[str, float]]:
    """Wall and CPU milliseconds per order placed through Django's test client,
    without and with a new Idempotency-Key, in alternating batches."""
    import random

    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    run = uuid.uuid4().hex

    numbers = itertools.count()

    def place(keyed: bool) -> None:
        lines = [{"product": random.choice(product_ids), "quantity": 1} for _ in range(random.randint(1, 3))]
        headers = {"HTTP_IDEMPOTENCY_KEY": f"{run}-{next(numbers)}"} if keyed else {}
        response = client.post("/api/orders/", {"items": lines}, content_type="application/json", **headers)
        assert response.status_code == 201, response.content

    spent = {"plain": [0.0, 0.0], "keyed": [0.0, 0.0]}
    for number in range(20):
        place(number % 2 == 0)  # warm up
    for batch in range(PROFILE_ORDERS // BATCH):
        for keyed in (False, True) if batch % 2 else (True, False):
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(BATCH):
                place(keyed)
            totals = spent["keyed" if keyed else "plain"]
            totals[0] += time.perf_counter() - wall
            totals[1] += time.process_time() - cpu
    orders = PROFILE_ORDERS // BATCH * BATCH
    return {name: {"wall_ms": w / orders * 1000, "cpu_ms": c / orders * 1000} for name, (w, c) in spent.items()}


def main() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from accounts.models import ApiKey
    from config.models import IdempotencyKey
    from files.models import File
    from orders.models import Order

    with shop_database("bench_integrations_http") as shop:
        token, product_ids, scratch = shop.token, shop.product_ids, shop.scratch
        _, api_key = ApiKey.objects.create_key(user=shop.user, name="bench")
        for i in range(FILES):
            File.objects.create(
                owner=shop.user, file=f"uploads/bench-{i}.txt", original_name=f"заметки-{i}.txt", size=100 + i,
                sha256="0" * 64, content_type="text/plain", kind=File.Kind.TEXT,
            )  # fmt: skip
        connection.close()
        rounds = measure(shop.db_url, shop.cache_url, token, api_key, product_ids, scratch)
        counts = (Order.objects.count(), IdempotencyKey.objects.count())
        # In-process: this process's settings (production profile), files under the scratch directory.
        settings.MEDIA_ROOT = str(scratch / "media")
        settings.ALLOWED_HOSTS = ["127.0.0.1"]
        settings.SECURE_SSL_REDIRECT = False
        cost = in_process(token, product_ids)

    results = []
    for measured, reference, label, unit in (
        ("keyed", "plain", "POST /api/orders/ with an Idempotency-Key / without", "orders/s"),
        ("api_key", "jwt", "GET /api/files/ with an API key / with a JWT", "req/s"),
    ):
        ratios = [m / r for m, r in zip(rounds[measured], rounds[reference], strict=True)]
        total = sum(rounds[measured]) / sum(rounds[reference])
        print(
            f"{label}: {statistics.mean(rounds[measured]):.0f} / {statistics.mean(rounds[reference]):.0f} {unit} "
            f"(mean of {len(ratios)} rounds); {total:.2f}x of the totals, median round {statistics.median(ratios):.2f}x"
            + (" (target >= 0.9x)" if measured == "keyed" else "")
        )
        results += [
            {"name": f"{measured}_{unit}", "value": round(statistics.mean(rounds[measured])), "unit": unit},
            {"name": f"{reference}_{unit}", "value": round(statistics.mean(rounds[reference])), "unit": unit},
            {"name": f"{measured}_over_{reference}", "value": round(total, 3), "unit": "ratio"},
            {
                "name": f"{measured}_over_{reference}_median_round",
                "value": round(statistics.median(ratios), 3),
                "unit": "ratio",
            },
        ]
    print(f"({counts[0]} orders placed, {counts[1]} idempotency keys stored)")
    for kind in ("wall_ms", "cpu_ms"):
        plain, keyed = cost["plain"][kind], cost["keyed"][kind]
        print(
            f"in-process, {kind} per order: {keyed:.2f} with a key, {plain:.2f} without ({plain / keyed:.2f}x the rate)"
        )
        results += [
            {"name": f"in_process_keyed_{kind}", "value": round(keyed, 2), "unit": "ms"},
            {"name": f"in_process_plain_{kind}", "value": round(plain, 2), "unit": "ms"},
        ]
    print(json.dumps({"name": "integrations_http", "results": results}))


if __name__ == "__main__":
    main()
