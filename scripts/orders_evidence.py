"""Evidence of Celery and Memcached at work for the shop: writes docs/orders-evidence.md.

Needs: PostgreSQL (DATABASE_URL=postgres://...) and Redis (REDIS_URL). Memcached:
a private ``memcached`` process on a free port when the binary is installed
(so its statistics count only this run), else CACHE_URL / MEMCACHED_URL.

It creates a throwaway database "orders_evidence", starts a real Celery worker
on Redis and a local shipping API (http.server on 127.0.0.1) that fails twice
and then accepts, then drives the API as a customer and an admin would: list
products (miss, hit), place an order (receipt PDF + email by the worker), read
it (miss, hit), ship it (the worker retries the shipping call with backoff),
and runs the sweeper. The worker's log and memcached's ``stats`` before and
after go into docs/orders-evidence.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dev_orders REDIS_URL=redis://127.0.0.1:6379/4 \\
        .venv/bin/python scripts/orders_evidence.py
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))
from _support import free_port, start_memcached  # noqa: E402

OUTPUT = BASE_DIR / "docs" / "orders-evidence.md"
WORK = Path(tempfile.mkdtemp(prefix="orders-evidence-"))


class ShippingApi:
    """Fails the first two calls with 503, then answers 201."""

    def __init__(self):
        self.calls = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                api.calls += 1
                failing = api.calls <= 2
                body = b'{"error": "try later"}' if failing else b'{"id": 101}'
                self.send_response(503 if failing else 201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/shipments"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError("the worker did not finish in time; see its log")


def main() -> None:
    memcached, cache_url = start_memcached(memory_mb=16)
    if not (cache_url or "").startswith("pymemcache://"):
        sys.exit("needs memcached: install it or set MEMCACHED_URL=pymemcache://host:port")
    shipping = ShippingApi()
    if not os.environ.get("REDIS_URL"):
        sys.exit("needs Redis: set REDIS_URL=redis://...")
    env_common = {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "CACHE_URL": cache_url,
        "CACHE_KEY_PREFIX": "evidence",
        "CELERY_BROKER_URL": os.environ["REDIS_URL"],
        "DJANGO_MEDIA_ROOT": str(WORK / "media"),
        "EMAIL_URL": f"filemail://{WORK / 'mail'}",
        "ORDERS_SHIPPING_API_URL": shipping.url,
        "ORDERS_SHIPPING_RETRY_BACKOFF": "1",
        "ORDERS_SHIPPING_RETRY_BACKOFF_MAX": "2",
        "LOG_LEVEL": "INFO",
    }
    os.environ.update(env_common)
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("needs PostgreSQL: set DATABASE_URL=postgres://...")
    connection.settings_dict["TEST"]["NAME"] = "orders_evidence"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    worker = None
    log_path = WORK / "worker.log"
    try:
        s = connection.settings_dict
        auth = f"{s['USER']}:{s['PASSWORD']}@" if s.get("PASSWORD") else f"{s['USER']}@"
        db_url = f"postgres://{auth}{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
        worker = start_worker(env_common, db_url, log_path)
        steps, stats = drive(shipping)
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(30)
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if memcached is not None:
            memcached.terminate()
        shipping.server.shutdown()
    where = cache_url.split("://", 1)[1] if memcached is None else "a private memcached"
    write(steps, stats, log_path.read_text(), where)
    shutil.rmtree(WORK, ignore_errors=True)
    sys.stdout.write(f"wrote {OUTPUT.relative_to(BASE_DIR)}\n")


def start_worker(env_common: dict, db_url: str, log_path: Path) -> subprocess.Popen:
    from config.celery import app

    app.control.purge()
    name = f"evidence-{os.getpid()}@localhost"
    env = {**os.environ, **env_common, "DATABASE_URL": db_url}
    worker = subprocess.Popen(  # noqa: S603  (our own argument list)
        [
            *(sys.executable, "-m", "celery", "-A", "config", "worker", "--queues=critical,default"),
            *("--loglevel=INFO", "--concurrency=1"),
            *("--without-gossip", "--without-mingle", "-n", name),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[name], timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker did not start:\n{log_path.read_text()[-3000:]}")
    return worker


def memcached_stats() -> dict[str, int]:
    """memcached's own counters, read with its ``stats`` command."""
    from pymemcache.client.base import Client

    host, port = os.environ["CACHE_URL"].split("://", 1)[1].rsplit(":", 1)
    client = Client((host, int(port)), connect_timeout=2, timeout=2)
    try:
        raw = client.stats()
    finally:
        client.close()
    keys = ("get_hits", "get_misses", "cmd_get", "cmd_set", "curr_items")
    return {k: int(raw[k.encode()]) for k in keys}


def drive(shipping: ShippingApi) -> tuple[list[tuple[str, str, str]], dict]:
    from django.urls import reverse
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User
    from orders.models import Order, OrderEmail
    from orders.tasks import order_sweep_task

    steps: list[tuple[str, str, str]] = []
    before = memcached_stats()

    def client(user):
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
        return c

    def call(c, method, url, label, body=None):
        response = getattr(c, method)(url, body, format="json") if body is not None else getattr(c, method)(url)
        steps.append((label, f"{method.upper()} {url} -> {response.status_code}", response.get("X-Cache", "")))
        return response

    admin = client(User.objects.create(username="admin", email="admin@example.com", is_staff=True))
    customer = client(User.objects.create(username="ann", email="ann@example.com"))
    products = reverse("orders-api:product-list")
    ids = [
        call(admin, "post", products, "admin creates a product", body).json()["id"]
        for body in (
            {"name": "Kettle", "price": "29.90", "stock": 5, "category": "home"},
            {"name": "Dune", "price": "9.50", "stock": 3, "category": "books"},
        )
    ]
    call(customer, "get", products, "first product list (nothing cached)")
    call(customer, "get", products, "same list again")
    call(admin, "get", products, "the same list for another user (the list is not per user)")
    order = call(
        customer,
        "post",
        reverse("orders-api:order-list"),
        "customer places an order (stock changes: lists invalidated)",
        {"items": [{"product": ids[0], "quantity": 1}, {"product": ids[1], "quantity": 2}]},
    ).json()
    call(customer, "get", products, "product list after the order")
    call(customer, "get", products, "product list again")
    detail = reverse("orders-api:order-detail", args=[order["id"]])
    wait_for(lambda: OrderEmail.objects.filter(order_id=order["id"], sent_at__isnull=False).exists())
    call(customer, "get", detail, "order detail, receipt generated by the worker")
    call(customer, "get", detail, "order detail again")
    call(customer, "get", reverse("orders-api:order-receipt", args=[order["id"]]), "receipt PDF download")
    call(admin, "patch", detail, "admin: processing", {"status": "processing"})
    call(admin, "patch", detail, "admin: shipped (queues the shipping call)", {"status": "shipped"})
    wait_for(lambda: Order.objects.get(pk=order["id"]).shipping_status in ("succeeded", "failed"))
    call(customer, "get", detail, "order detail after the worker's shipping attempts")
    call(customer, "get", detail, "order detail again")
    order_sweep_task.delay()
    time.sleep(3)
    after = memcached_stats()
    final = Order.objects.get(pk=order["id"])
    attempts = list(final.shipping_attempts.values("number", "succeeded", "status_code", "error"))
    email = OrderEmail.objects.get(order=final)
    return steps, {
        "before": before,
        "after": after,
        "attempts": attempts,
        "shipping_status": final.shipping_status,
        "shipping_calls": shipping.calls,
        "email": {
            "recipient": email.recipient,
            "subject": email.subject,
            "sent_at": email.sent_at and email.sent_at.isoformat(),
        },
        "receipt": final.receipt.name,
    }


def write(steps, stats, log: str, where: str) -> None:
    before, after = stats["before"], stats["after"]
    rows = "\n".join(f"| {label} | `{request}` | {cache or '-'} |" for label, request, cache in steps)
    stat_rows = "\n".join(f"| {key} | {before[key]} | {after[key]} | {after[key] - before[key]:+d} |" for key in before)
    attempts = "\n".join(
        f"| {a['number']} | {a['succeeded']} | {a['status_code']} | {a['error'] or '-'} |" for a in stats["attempts"]
    )
    lines = [line for line in log.splitlines() if line.strip()]
    OUTPUT.write_text(
        f"""# Orders: Celery and Memcached at work

Generated by `scripts/orders_evidence.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; rerun it to
refresh this page (needs PostgreSQL, Redis and memcached, see the script's docstring).
It runs a real Celery worker on Redis, {where}, and a local shipping API that
fails twice before accepting, and drives the API as a customer and an admin.

## Requests and the cache

`X-Cache` is set by the views: `miss` means the answer was built from PostgreSQL
and stored in memcached, `hit` means it came from memcached.

| step | request | X-Cache |
|---|---|---|
{rows}

## Memcached `stats`

| counter | before | after | change |
|---|---|---|---|
{stat_rows}

Each cached read fetches the generation number and the entry together (one `get_many`,
counted per key). After a change the old entry is still in memcached, so reading it is a
memcached *hit*, but its generation no longer matches and the view answers `X-Cache: miss`
and rebuilds it: that is how invalidation stays O(1), and why memcached's `get_misses`
only counts keys that were never stored (the first reads).

## What the worker did

- Receipt stored: `{stats["receipt"]}`; confirmation email to {stats["email"]["recipient"]}
  ("{stats["email"]["subject"]}") sent at {stats["email"]["sent_at"]}.
- Shipping API calls received by the local server: {stats["shipping_calls"]}; final outcome
  on the order: **{stats["shipping_status"]}**.

| attempt | succeeded | HTTP status | error |
|---|---|---|---|
{attempts}

## Worker log

```text
{chr(10).join(lines)}
```

Raw figures: `{json.dumps({"memcached_before": before, "memcached_after": after})}`
"""
    )


if __name__ == "__main__":
    main()
