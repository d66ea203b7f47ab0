"""Product list requests/s under gunicorn: cached in Memcached against uncached (PostgreSQL).

Needs: PostgreSQL (DATABASE_URL=postgres://...), memcached (a private instance is
started when the binary is installed, else CACHE_URL or MEMCACHED_URL=pymemcache://host:port),
gunicorn and wrk (/usr/bin/wrk).
Creates a throwaway database "bench_orders_product_list" with 20 products and
a user, then runs gunicorn on 127.0.0.1 (cache = memcached, then cache = dummy)
and drives GET /api/products/ with wrk, authenticated with a JWT header as a
real client would be. Target: the cached list at 70% or more of a memcached hit
for a 20-row DRF list (about 2,600 req/s on a quiet 2-core machine). That
reference (``_reference_drf_list.py``: bare Django, no authentication, the same
page) runs under the same gunicorn in alternating rounds with the cached list,
and the ratio of each pair is printed: this machine's speed drifts by up to 2x
within minutes, so a figure taken at another time says little.
BENCH_SECONDS (5) and BENCH_ROUNDS (3) set each round's length and their number.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dev_orders CACHE_URL=pymemcache://127.0.0.1:11211 \\
        .venv/bin/python bench/orders_product_list.py
"""

import json
import os
import re
import shutil
import statistics
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

SECONDS = int(os.environ.get("BENCH_SECONDS", 5))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", 16))
# The server shape: config/gunicorn.py's unless these are set.
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS") or 0) or None
THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS") or 0) or None
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
    proc, port = start_gunicorn(env=env, workers=WORKERS, threads=THREADS)
    return proc, f"http://127.0.0.1:{port}/api/products/"


def serve_reference(cache_url: str, page: bytes) -> tuple[subprocess.Popen, str]:
    """``_reference_drf_list.py`` under the same gunicorn, serving ``page``."""
    env = {
        **os.environ,
        "REFERENCE_MEMCACHED": cache_url.removeprefix("pymemcache://"),
        "REFERENCE_PAGE_JSON": page.decode(),
        "PYTHONWARNINGS": "ignore",
    }
    proc, port = start_gunicorn(
        env=env,
        workers=WORKERS,
        threads=THREADS,
        app="_reference_drf_list:application",
        extra=(f"--pythonpath={Path(__file__).resolve().parent}",),
    )
    return proc, f"http://127.0.0.1:{port}/api/products/"


def fetch(url: str, token: str | None) -> tuple[str, bytes]:
    """(X-Cache, body) of one GET, checking that the body is the 20-row page."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
        body = response.read()
        assert len(json.loads(body)["results"]) == 20, body
        return response.headers["X-Cache"], body


def wrk(url: str, token: str | None, seconds: int) -> float:
    auth = ["-H", f"Authorization: Bearer {token}"] if token else []
    out = subprocess.run(
        [WRK, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", *auth, url], capture_output=True, text=True, check=True
    ).stdout
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if bad:
        sys.exit(f"{url}: {bad.group(1)} non-2xx responses")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def measure_cached(db_url: str, cache_url: str, token: str) -> tuple[list[float], list[float], float]:
    """Requests/s of the cached list and of the reference, in alternating rounds (this
    machine's speed drifts within minutes: each pair shares its minute), and of
    GET /api/auth/me/: the cheapest authenticated endpoint (JWT check + user lookup)."""
    ours_proc, ours_url = serve(db_url, cache_url)
    reference_proc = None
    try:
        states = [fetch(ours_url, token)[0] for _ in range(2)]
        print(f"cached (memcached): X-Cache of two requests: {states}")
        page = fetch(ours_url, token)[1]
        reference_proc, reference_url = serve_reference(cache_url, page)
        print(f"reference: X-Cache of two requests: {[fetch(reference_url, None)[0] for _ in range(2)]}")
        wrk(ours_url, token, 2)  # warm up every worker thread and connection
        wrk(reference_url, None, 2)
        ours, reference = [], []
        for round_number in range(1, ROUNDS + 1):
            reference.append(wrk(reference_url, None, SECONDS))
            ours.append(wrk(ours_url, token, SECONDS))
            print(
                f"round {round_number}: reference {reference[-1]:.0f} req/s, cached list {ours[-1]:.0f} req/s "
                f"({ours[-1] / reference[-1]:.0%})"
            )
        me = wrk(ours_url.replace("/api/products/", "/api/auth/me/"), token, SECONDS)
        print(f"GET /api/auth/me/ on the same server (authentication alone): {me:.0f} req/s")
        return ours, reference, me
    finally:
        stop(ours_proc)
        if reference_proc is not None:
            stop(reference_proc)


def measure_uncached(db_url: str, token: str) -> float:
    proc, url = serve(db_url, "dummycache://")
    try:
        print(f"uncached (PostgreSQL every time): X-Cache of two requests: {[fetch(url, token)[0] for _ in range(2)]}")
        wrk(url, token, 2)
        rate = wrk(url, token, SECONDS)
        print(f"uncached (PostgreSQL every time): {rate:.0f} req/s")
        return rate
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

        ours, reference, auth_floor = measure_cached(db_url, cache_url, str(token))
        uncached = measure_uncached(db_url, str(token))
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if memcached is not None:
            memcached.terminate()

    cached, reference_rate = statistics.median(ours), statistics.median(reference)
    ratios = [o / r for o, r in zip(ours, reference, strict=True)]
    print(
        f"cached list: {cached:.0f} req/s (median of {ROUNDS} rounds of {SECONDS} s, {CONNECTIONS} connections); "
        f"reference: {reference_rate:.0f} req/s"
    )
    print(
        f"cached list / reference, per round: {', '.join(f'{r:.0%}' for r in ratios)}; "
        f"median {statistics.median(ratios):.0%} (target >= 70%)"
    )
    print(f"cached list vs the 2,600 req/s figure given for a quiet machine: {cached / 2600:.0%}")
    print(f"cached / uncached: {cached / uncached:.2f}x; cached list vs /api/auth/me/: {cached / auth_floor:.0%}")
    print(
        json.dumps(
            {
                "name": "orders_product_list",
                "results": [
                    {"name": "cached_req_per_s", "value": round(cached), "unit": "req/s"},
                    {"name": "reference_req_per_s", "value": round(reference_rate), "unit": "req/s"},
                    {"name": "cached_over_reference", "value": round(statistics.median(ratios), 3), "unit": "ratio"},
                    {"name": "uncached_req_per_s", "value": round(uncached), "unit": "req/s"},
                    {"name": "cached_over_uncached", "value": round(cached / uncached, 2), "unit": "x"},
                    {"name": "auth_me_req_per_s", "value": round(auth_floor), "unit": "req/s"},
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
