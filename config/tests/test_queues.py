"""`make run`'s two queues on the filesystem broker: throughput and no waiting behind a backlog."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BASE_DIR, wait_until

sys.path.insert(0, str(BASE_DIR / "scripts"))
from supervisor import read_procfile

SERVICE_VARIABLES = ("DATABASE_URL", "CACHE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL", "MEMCACHED_URL")
# What `make run` publishes from: the embedded defaults, a throwaway VAR_DIR.
PUBLISHER = """
import json, sys
import django
django.setup()
from config.celery import app
for queue, args in json.loads(sys.stdin.read()):
    app.send_task("bench.touch", args=args, queue=queue)
"""


@pytest.fixture
def embedded_workers(tmp_path: Path):
    if not Path(BASE_DIR, ".venv/bin/celery").exists():
        pytest.skip("needs the project virtualenv (.venv) that `make` creates")
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES and not k.startswith("DJANGO_")}
    env.update({"VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "config.settings.base"})
    procfile = read_procfile(BASE_DIR / "Procfile")
    log = (tmp_path / "workers.log").open("wb")
    workers = [
        subprocess.Popen(
            ["/bin/sh", "-c", f"exec {procfile[name]} -I bench._broker_tasks"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for name in ("worker", "worker-default")
    ]

    def publish(messages: list[tuple[str, list]]) -> None:
        import json

        subprocess.run(
            [sys.executable, "-c", PUBLISHER],
            input=json.dumps(messages),
            text=True,
            cwd=BASE_DIR,
            env=env,
            check=True,
            timeout=120,
        )

    ready = tmp_path / "ready"
    ready.mkdir()
    publish([("critical", [str(ready / "critical")]), ("default", [str(ready / "default")])])
    wait_until(lambda: len(os.listdir(ready)) == 2, timeout=90)
    yield publish
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, 9)


@pytest.mark.e2e
def test_a_critical_task_does_not_wait_behind_a_default_backlog(embedded_workers, tmp_path):
    backlog, critical = tmp_path / "backlog", tmp_path / "critical"
    backlog.mkdir()
    critical.mkdir()

    embedded_workers(
        [("default", [str(backlog / str(i)), 0.2]) for i in range(100)] + [("critical", [str(critical / "done")])]
    )
    published = time.monotonic()
    wait_until(lambda: (critical / "done").exists(), timeout=30, interval=0.01)
    waited = time.monotonic() - published
    backlog_done = len(os.listdir(backlog))

    # 100 tasks of 0.2 s on two processes take 10 s; the critical one, published
    # after them all, runs while most of them still wait.
    assert backlog_done < 50
    assert waited < 5


@pytest.mark.e2e
def test_the_filesystem_broker_carries_at_least_50_tasks_a_second(embedded_workers, tmp_path):
    done = tmp_path / "done"
    done.mkdir()

    started = time.monotonic()
    embedded_workers([("default", [str(done / str(i))]) for i in range(300)])
    wait_until(lambda: len(os.listdir(done)) == 300, timeout=120, interval=0.01)
    rate = 300 / (time.monotonic() - started)

    assert rate >= 50, f"{rate:.1f} tasks/s"


def test_time_critical_tasks_are_routed_to_the_critical_queue():
    from config.celery import app

    def queue(name: str) -> str:
        return app.amqp.router.route({}, name)["queue"].name

    assert {
        name: queue(name)
        for name in (
            "files.tasks.file_process_task",
            "codecheck.tasks.codecheck_run_task",
            "orders.tasks.order_receipt_task",
            "codecheck.tasks.check_email_task",
            "orders.tasks.order_notify_shipping_task",
            "files.tasks.file_sweep_task",
            "codecheck.tasks.check_email_sweep_task",
            "orders.tasks.order_sweep_task",
        )
    } == {
        "files.tasks.file_process_task": "critical",
        "codecheck.tasks.codecheck_run_task": "critical",
        "orders.tasks.order_receipt_task": "critical",
        "codecheck.tasks.check_email_task": "default",
        "orders.tasks.order_notify_shipping_task": "default",
        "files.tasks.file_sweep_task": "default",
        "codecheck.tasks.check_email_sweep_task": "default",
        "orders.tasks.order_sweep_task": "default",
    }
