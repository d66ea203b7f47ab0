"""Event-to-delivery latency of webhooks, p50/p95 over 500 events, with a real worker on Redis.

Starts a threaded receiver on 127.0.0.1 that verifies every signature with the
``standardwebhooks`` package, and a real Celery worker (prefork, concurrency 2, the
shape of ``worker-default``) on Redis and PostgreSQL. Each event is published by
``event_publish`` in its own transaction (as a product service does), at a steady
rate; its latency runs from the commit to the receiver reading the request.

References measured in the same run, on the same machine and worker:
- a bare Celery task round trip (publish -> a worker process runs a task that
  touches a file -> this process sees it): the floor of any delivery by a worker;
- a plain HTTP POST of the same body from this process to the receiver.

Services (required): DATABASE_URL (PostgreSQL), REDIS_URL (or CELERY_BROKER_URL).
Usage: .venv/bin/python bench/webhooks_latency.py [--events 500] [--rate 50]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _support import PRODUCTION_ENV, ROOT, percentile

sys.path.insert(0, str(ROOT))
if not (os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL")) or not os.environ.get("DATABASE_URL"):
    sys.exit("needs DATABASE_URL (PostgreSQL) and REDIS_URL: a real worker shares them with this script")
TMP = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
ENV = {**PRODUCTION_ENV, "VAR_DIR": str(TMP / "var"), "WEBHOOKS_ALLOW_PRIVATE_HOSTS": "1"}
os.environ.update(ENV)

import django  # noqa: E402

django.setup()

import urllib3  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from standardwebhooks import Webhook  # noqa: E402

from accounts.models import User  # noqa: E402
from bench._broker_tasks import touch  # noqa: E402
from config.celery import app  # noqa: E402
from webhooks.models import Delivery, DeliveryStatus, Endpoint  # noqa: E402
from webhooks.services import event_publish  # noqa: E402
from webhooks.transport import secret_generate  # noqa: E402


class Receiver:
    def __init__(self, secret: str):
        self.webhook = Webhook(secret)
        self.arrived: dict[str, float] = {}
        self.bad = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                now = time.time()
                try:
                    event_id = receiver.webhook.verify(body, dict(self.headers.items()))["id"]
                except Exception:
                    event_id = None
                with receiver.lock:
                    if event_id is None:
                        receiver.bad += 1
                    else:
                        receiver.arrived.setdefault(event_id, now)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, ids: list[str], timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                missing = [i for i in ids if i not in self.arrived]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(missing)} events not delivered in {timeout}s")
            time.sleep(0.01)


def publish_paced(user: User, count: int, rate: float) -> dict[str, float]:
    committed: dict[str, float] = {}
    start = time.monotonic()
    for n in range(count):
        time.sleep(max(0.0, start + n / rate - time.monotonic()))
        with transaction.atomic():
            event = event_publish(user_id=user.pk, type="order.created", data={"n": n, "name": "Заказ"})
        committed[event.pk] = time.time()  # after commit: the delivery task is published now
    return committed


def task_round_trips(count: int) -> list[float]:
    latencies = []
    for n in range(count):
        path = TMP / f"touch-{n}"
        started = time.time()
        touch.delay(str(path))
        while not path.exists():
            time.sleep(0.0005)
        latencies.append((time.time() - started) * 1000)
    return latencies


def plain_posts(url: str, secret: str, count: int) -> list[float]:
    from webhooks.transport import signature

    pool = urllib3.PoolManager()
    body = json.dumps({"id": "evt_x", "type": "order.created", "timestamp": "", "data": {"n": 0}}).encode()
    latencies = []
    for n in range(count):
        ts = int(time.time())
        headers = {
            "webhook-id": f"evt_ref_{n}",
            "webhook-timestamp": str(ts),
            "webhook-signature": signature(secret=secret, msg_id=f"evt_ref_{n}", timestamp=ts, body=body),
        }
        started = time.perf_counter()
        pool.request("POST", url, body=body, headers=headers, retries=False)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def summary(name: str, values: list[float]) -> tuple[float, float]:
    p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
    print(f"{name:44} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   max {max(values):7.1f} ms  (n={len(values)})")
    return p50, p95


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0, help="events per second")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench-webhooks", defaults={"email": "bench-webhooks@example.com"})
    Endpoint.objects.filter(owner=user).delete()
    secret = secret_generate()
    receiver = Receiver(secret)
    Endpoint.objects.create(owner=user, url=receiver.url, events=["order.created"], secret=secret)
    app.control.purge()
    name = f"bench-webhooks-{os.getpid()}@localhost"
    log = (TMP / "worker.log").open("wb")
    worker = subprocess.Popen(
        [
            *(str(ROOT / ".venv/bin/celery"), "-A", "config", "worker", "--pool=prefork", "--concurrency=2"),
            *("-Q", "critical,default", "-I", "bench._broker_tasks"),
            *("--without-gossip", "--without-mingle", "--loglevel=WARNING", "-n", name),
        ],
        cwd=ROOT,
        env={**os.environ, **ENV},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[name], timeout=0.5):
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError((TMP / "worker.log").read_text()[-2000:])
        warm = publish_paced(user, 20, args.rate)  # each worker process connects and imports once
        receiver.wait(list(warm))
        task_round_trips(20)

        committed = publish_paced(user, args.events, args.rate)
        receiver.wait(list(committed))
        latencies = [(receiver.arrived[i] - t) * 1000 for i, t in committed.items()]
        print(f"{args.events} events at {args.rate:g}/s, one endpoint, worker concurrency 2, broker Redis:")
        p50, p95 = summary("event commit -> receiver has the request", latencies)
        ref_task = summary("reference: bare Celery task round trip", task_round_trips(args.events))
        posts = plain_posts(receiver.url, secret, args.events)
        ref_post = summary("reference: plain signed POST to the receiver", posts)
        delivered = Delivery.objects.filter(event_id__in=list(committed), status=DeliveryStatus.SUCCEEDED).count()
        print(f"deliveries succeeded: {delivered}/{args.events}; bad signatures at the receiver: {receiver.bad}")
    finally:
        worker.terminate()
        worker.wait(30)
        app.control.purge()
        Endpoint.objects.filter(owner=user).delete()
        shutil.rmtree(TMP, ignore_errors=True)
    results = [
        {"name": "event_to_delivery_p50", "value": round(p50, 1), "unit": "ms"},
        {"name": "event_to_delivery_p95", "value": round(p95, 1), "unit": "ms"},
        {"name": "reference_task_round_trip_p50", "value": round(ref_task[0], 1), "unit": "ms"},
        {"name": "reference_task_round_trip_p95", "value": round(ref_task[1], 1), "unit": "ms"},
        {"name": "reference_plain_post_p50", "value": round(ref_post[0], 1), "unit": "ms"},
        {"name": "reference_plain_post_p95", "value": round(ref_post[1], 1), "unit": "ms"},
    ]
    print(json.dumps({"name": "webhooks_latency", "results": results}))


if __name__ == "__main__":
    main()
