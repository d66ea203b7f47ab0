"""Integrations through HTTP: what an Idempotency-Key and an API key cost a request.

Needs: PostgreSQL (DATABASE_URL=postgres://...), Redis (REDIS_URL: the broker),
memcached (a private instance when the binary is installed, else
CACHE_URL=pymemcache://...), gunicorn and wrk (/usr/bin/wrk).
Creates a throwaway database "bench_integrations_http" with 20 products, a user
with an API key and 20 files; no worker runs (the queue is purged afterwards).

Under the project's gunicorn settings (``config/gunicorn.py``), 16 clients on
keep-alive connections, in alternating rounds (BENCH_ROUNDS, 3; BENCH_SECONDS, 5 s
each), each ratio from one round:

1. ``POST /api/orders/`` (orders of 1-3 random products, the Lua script of
   ``orders_http.py``) with a new ``Idempotency-Key`` on every request, beside the
   same requests without one. Target: >= 0.9x.
2. ``GET /api/files/`` (a page of 20 files, not cached) with ``Authorization:
   Api-Key``, beside the same request with a JWT (``Bearer``).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dev REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/integrations_http.py
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from _support import (
    PRODUCTION_ENV,
    database_url,
    http_bench_environment,
    start_gunicorn,
    start_memcached,
    stop,
    wrk_rate,
)

http_bench_environment()

SECONDS = int(os.environ.get("BENCH_SECONDS", 5))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
PRODUCTS = 20
FILES = 20
ROOT = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).parent / "celery")

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


def main() -> None:
    import django

    django.setup()
    from django.db import connection
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import ApiKey, User
    from config.models import IdempotencyKey
    from files.models import File
    from orders.models import Order, Product

    if connection.vendor != "postgresql":
        sys.exit("needs PostgreSQL: set DATABASE_URL=postgres://...")
    connection.settings_dict["TEST"]["NAME"] = "bench_integrations_http"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    memcached, cache_url = start_memcached()
    scratch = Path(tempfile.mkdtemp(prefix="bench_integrations_http"))
    try:
        if not (cache_url or "").startswith("pymemcache"):
            sys.exit("needs memcached (the binary, or CACHE_URL=pymemcache://...)")
        product_ids = [
            Product.objects.create(name=f"Product {i}", price=Decimal("5.00") + i, stock=10**9).pk
            for i in range(PRODUCTS)
        ]
        user = User.objects.create(username="bench", email="bench@example.com")
        _, api_key = ApiKey.objects.create_key(user=user, name="bench")
        for i in range(FILES):
            File.objects.create(
                owner=user, file=f"uploads/bench-{i}.txt", original_name=f"заметки-{i}.txt", size=100 + i,
                sha256="0" * 64, content_type="text/plain", kind=File.Kind.TEXT,
            )  # fmt: skip
        token = AccessToken.for_user(user)
        token.set_exp(lifetime=timedelta(hours=1))
        db_url = database_url(connection.settings_dict)
        connection.close()
        rounds = measure(db_url, cache_url, str(token), api_key, product_ids, scratch)
        counts = (Order.objects.count(), IdempotencyKey.objects.count())
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if memcached is not None:
            memcached.terminate()
        subprocess.run(["rm", "-rf", str(scratch)], check=False)

    keyed_ratio = [k / p for k, p in zip(rounds["keyed"], rounds["plain"], strict=True)]
    key_ratio = [k / j for k, j in zip(rounds["api_key"], rounds["jwt"], strict=True)]
    print(
        f"POST /api/orders/: {statistics.median(rounds['keyed']):.0f} orders/s with an Idempotency-Key, "
        f"{statistics.median(rounds['plain']):.0f} without; per round {', '.join(f'{r:.2f}x' for r in keyed_ratio)}; "
        f"median {statistics.median(keyed_ratio):.2f}x (target >= 0.9x); {counts[0]} orders, {counts[1]} keys stored"
    )
    print(
        f"GET /api/files/: {statistics.median(rounds['api_key']):.0f} req/s with an API key, "
        f"{statistics.median(rounds['jwt']):.0f} with a JWT; per round {', '.join(f'{r:.2f}x' for r in key_ratio)}; "
        f"median {statistics.median(key_ratio):.2f}x"
    )
    results = [
        {"name": "orders_keyed_per_s", "value": round(statistics.median(rounds["keyed"])), "unit": "orders/s"},
        {"name": "orders_plain_per_s", "value": round(statistics.median(rounds["plain"])), "unit": "orders/s"},
        {"name": "orders_keyed_over_plain", "value": round(statistics.median(keyed_ratio), 3), "unit": "ratio"},
        {"name": "files_api_key_req_per_s", "value": round(statistics.median(rounds["api_key"])), "unit": "req/s"},
        {"name": "files_jwt_req_per_s", "value": round(statistics.median(rounds["jwt"])), "unit": "req/s"},
        {"name": "files_api_key_over_jwt", "value": round(statistics.median(key_ratio), 3), "unit": "ratio"},
    ]
    print(json.dumps({"name": "integrations_http", "results": results}))


if __name__ == "__main__":
    main()
