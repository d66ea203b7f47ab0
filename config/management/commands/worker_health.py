"""``manage.py worker_health --node NAME``: does this very worker run a task now?

A worker container's healthcheck. The ping task goes to the node's own queue
(``CELERY_WORKER_DIRECT``), which the worker consumes through the same consumer
as its work queues, so a worker whose process is up but whose consumer stopped
(after a Redis reconnect, say) fails, and a busy or dead sibling replica cannot
answer in its place. Exit status 0: answered within ``--timeout`` seconds.
"""

import time
import uuid

from celery.utils import worker_direct
from django.conf import settings
from django.core.cache import caches
from django.core.management.base import BaseCommand, CommandError

from config.tasks import PONG_KEY, health_ping_task


class Command(BaseCommand):
    help = "Exit 0 when the named Celery worker runs a ping task within the timeout."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--node", required=True, help="the worker's node name, e.g. celery@$HOSTNAME")
        parser.add_argument("--timeout", type=float, default=10.0)

    def handle(self, *args, node: str, timeout: float, **options) -> None:
        if not settings.CELERY_WORKER_DIRECT:
            raise CommandError("CELERY_WORKER_DIRECT is off: workers consume no queue of their own")
        token = uuid.uuid4().hex
        # Dropped unanswered rather than run long after the check gave up.
        health_ping_task.apply_async((token,), queue=worker_direct(node), expires=timeout, retry=False)
        durable, key = caches["durable"], PONG_KEY.format(token)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if durable.get(key):
                durable.delete(key)
                self.stdout.write(f"{node} ran a ping task")
                return
            time.sleep(0.1)
        raise CommandError(f"{node} ran no ping task within {timeout}s")
