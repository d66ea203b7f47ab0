"""Product list requests/s under gunicorn: cached in Memcached against uncached (PostgreSQL).

Needs: PostgreSQL (DATABASE_URL=postgres://...), memcached (a private instance is
started when the binary is installed, else CACHE_URL or MEMCACHED_URL=pymemcache://host:port),
gunicorn and wrk (/usr/bin/wrk).
Creates a throwaway database "bench_orders_product_list" with 20 products and
a user, then runs gunicorn on 127.0.0.1 twice (cache = memcached, then cache =
dummy) and drives GET /api/products/ with wrk, authenticated with a JWT header
as a real client would be. Target: the cached list at 70% or more of the
~2,600 req/s a memcached hit for a 20-row DRF list reaches on a quiet 2-core machine.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dev_orders CACHE_URL=pymemcache://127.0.0.1:11211 \\
        .venv/bin/python bench/orders_product_list.py
"""

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from _support import PRODUCTION_ENV, start_gunicorn, start_memcached, stop

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# gunicorn gets the same key, so the JWT signed here is valid there.
os.environ["DJANGO_SECRET_KEY"] = "bench-" + "k" * 60

SECONDS = int(os.environ.get("BENCH_SECONDS", 10))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", 16))
WORKERS = os.environ.get("BENCH_GUNICORN_WORKERS", "4")
THREADS = os.environ.get("BENCH_GUNICORN_THREADS", "2")
WRK = shutil.which("wrk") or "/usr/bin/wrk"


def serve(db_url: str, cache_url: str) -> tuple[subprocess.Popen, str]:
    env = {
        **os.environ,
        **PRODUCTION_ENV,
        # The JWT signed by this script must verify in gunicorn.
        "DJANGO_SECRET_KEY": os.environ["DJANGO_SECRET_KEY"],
        "DATABASE_URL": db_url,
        "CACHE_URL": cache_url,
        "CACHE_KEY_PREFIX": f"bench{os.getpid()}",
        "PYTHONWARNINGS": "ignore",
    }
    proc, port = start_gunicorn(env=env, workers=int(WORKERS), threads=int(THREADS))
    return proc, f"http://127.0.0.1:{port}/api/products/"


def x_cache(url: str, token: str) -> str:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        body = json.loads(response.read())
        assert len(body["results"]) == 20, body
        return response.headers["X-Cache"]


def wrk(url: str, token: str, seconds: int) -> tuple[float, int]:
    out = subprocess.run(
        [WRK, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "-H", f"Authorization: Bearer {token}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, int(bad.group(1)) if bad else 0


def measure(db_url: str, cache_url: str, token: str, label: str) -> tuple[float, float]:
    """Requests/s of the product list, and of GET /api/auth/me/ on the same server: the
    cheapest authenticated endpoint (JWT check + user lookup), the floor any list sits on."""
    proc, url = serve(db_url, cache_url)
    try:
        states = [x_cache(url, token) for _ in range(2)]
        print(f"{label}: X-Cache of two requests: {states}")
        wrk(url, token, 2)  # warm up every worker thread and connection
        rate, bad = wrk(url, token, SECONDS)
        if bad:
            sys.exit(f"{label}: {bad} non-2xx responses")
        print(f"{label}: {rate:.0f} req/s ({CONNECTIONS} connections, {SECONDS} s)")
        me, _ = wrk(url.replace("/api/products/", "/api/auth/me/"), token, SECONDS)
        print(f"{label}: GET /api/auth/me/ on the same server (authentication alone): {me:.0f} req/s")
        return rate, me
    finally:
        stop(proc)


def main() -> None:
    import django

    django.setup()
    from django.db import connection
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User
    from orders.models import Category, Product

    memcached, cache_url = start_memcached()
    if connection.vendor != "postgresql" or not (cache_url or "").startswith("pymemcache"):
        sys.exit("needs PostgreSQL (DATABASE_URL) and Memcached (CACHE_URL=pymemcache://...)")
    print(f"memcached: {cache_url}{' (private instance)' if memcached else ''}")
    connection.settings_dict["TEST"]["NAME"] = "bench_orders_product_list"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        categories = list(Category.values)
        for i in range(20):
            Product.objects.create(
                name=f"Product {i}",
                description="A product used by the list benchmark. " * 3,
                price=Decimal("10.00") + i,
                stock=100 + i,
                category=categories[i % len(categories)],
            )
        Product.objects.create(name="Page two", price=Decimal("1.00"), stock=1, category="other")
        user = User.objects.create(username="bench", email="bench@example.com")
        token = AccessToken.for_user(user)
        token.set_exp(lifetime=timedelta(hours=1))
        s = connection.settings_dict
        db_url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
        if s.get("PASSWORD"):
            db_url = db_url.replace("@", f":{s['PASSWORD']}@", 1)
        connection.close()

        cached, auth_floor = measure(db_url, cache_url, str(token), "cached (memcached)")
        uncached, _ = measure(db_url, "dummycache://", str(token), "uncached (PostgreSQL every time)")
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if memcached is not None:
            memcached.terminate()

    print(f"cached / uncached: {cached / uncached:.2f}x; cached vs the 2,600 req/s reference: {cached / 2600:.0%}")
    print(f"cached list vs authentication alone (/api/auth/me/): {cached / auth_floor:.0%}")
    print(
        json.dumps(
            {
                "name": "orders_product_list",
                "results": [
                    {"name": "cached_req_per_s", "value": round(cached), "unit": "req/s"},
                    {"name": "uncached_req_per_s", "value": round(uncached), "unit": "req/s"},
                    {"name": "cached_over_uncached", "value": round(cached / uncached, 2), "unit": "x"},
                    {"name": "auth_me_req_per_s", "value": round(auth_floor), "unit": "req/s"},
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
