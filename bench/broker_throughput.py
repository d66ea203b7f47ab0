"""Tasks per second through `make run`'s broker, and a critical task behind a default backlog.

Starts the two workers exactly as the Procfile does (``worker`` on the critical
queue, ``worker-default`` on the default one) on a throwaway VAR_DIR, publishes
no-op tasks and waits until every one has run. Scenarios, each in its own
process: the filesystem broker with kombu's default 1 s polling interval (what
`make run` had), the filesystem broker as configured now, and Redis as the
reference when REDIS_URL is set. Prints figures, then one JSON line.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _support import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from supervisor import read_procfile

SERVICE_VARIABLES = ("DATABASE_URL", "CACHE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL", "MEMCACHED_URL")


def _count(folder: Path) -> int:
    return len(os.listdir(folder))


def _wait_for(folder: Path, count: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while _count(folder) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{_count(folder)} of {count} tasks ran within {timeout:.0f}s")
        time.sleep(0.005)
    return time.monotonic()


def scenario(tasks: int, backlog: int) -> dict:
    """Runs in a child process whose environment selects the broker."""
    import django

    django.setup()
    from config.celery import app

    work = Path(tempfile.mkdtemp(prefix="broker-bench-"))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    procfile = read_procfile(ROOT / "Procfile")
    workers = []
    log = (work / "workers.log").open("wb")
    for name in ("worker", "worker-default"):
        command = procfile[name] + " -I bench._broker_tasks --loglevel=WARNING"
        workers.append(
            subprocess.Popen(["/bin/sh", "-c", f"exec {command}"], cwd=ROOT, env=env, stdout=log, stderr=log)
        )
    try:
        with app.connection_for_write() as conn:
            for queue in ("critical", "default"):
                conn.default_channel.queue_declare(queue=queue, durable=True)
                conn.default_channel.queue_purge(queue)
        warm = work / "warm"
        warm.mkdir()
        for queue in ("critical", "default"):
            app.send_task("bench.touch", args=[str(warm / queue)], queue=queue)
        _wait_for(warm, 2, 60)

        done = work / "throughput"
        done.mkdir()
        start = time.monotonic()
        for i in range(tasks):
            app.send_task("bench.touch", args=[str(done / str(i))], queue="default")
        published = time.monotonic()
        finished = _wait_for(done, tasks, 600)

        behind = work / "backlog"
        behind.mkdir()
        for i in range(backlog):
            app.send_task("bench.touch", args=[str(behind / str(i)), 0.05], queue="default")
        critical = work / "critical"
        critical.mkdir()
        sent = time.monotonic()
        app.send_task("bench.touch", args=[str(critical / "done")], queue="critical")
        critical_latency = _wait_for(critical, 1, 120) - sent
        default_left = backlog - _count(behind)
        return {
            "tasks": tasks,
            "publish_per_s": tasks / (published - start),
            "tasks_per_s": tasks / (finished - start),
            "critical_latency_s": critical_latency,
            "backlog": backlog,
            "backlog_left_when_critical_ran": default_left,
        }
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)


def run_child(label: str, env_overrides: dict, tasks: int, backlog: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES and not k.startswith("DJANGO_")}
    var_dir = tempfile.mkdtemp(prefix="broker-bench-var-")
    env.update(
        {"VAR_DIR": var_dir, "DJANGO_SETTINGS_MODULE": "config.settings.base", "LOG_LEVEL": "WARNING"},
        **env_overrides,
    )
    result = subprocess.run(
        [sys.executable, __file__, "--scenario", "--tasks", str(tasks), "--backlog", str(backlog)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    shutil.rmtree(var_dir, ignore_errors=True)
    if result.returncode != 0:
        sys.exit(f"{label} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--backlog", type=int, default=200)
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(scenario(args.tasks, args.backlog)))
        return

    runs = {
        "filesystem_polling_1s": (
            "filesystem broker, kombu's default 1 s polling (before)",
            {"CELERY_BROKER_POLLING_INTERVAL": "1.0"},
            min(args.tasks, 40),
        ),
        "filesystem": ("filesystem broker as `make run` configures it", {}, args.tasks),
    }
    if os.environ.get("REDIS_URL"):
        runs["redis"] = ("Redis (reference)", {"CELERY_BROKER_URL": os.environ["REDIS_URL"]}, args.tasks)
    results = []
    for name, (label, overrides, tasks) in runs.items():
        figures = run_child(label, overrides, tasks, args.backlog)
        print(
            f"{label:<52}: {figures['tasks_per_s']:7.1f} tasks/s over {tasks} tasks "
            f"(published at {figures['publish_per_s']:.0f}/s); a critical task behind "
            f"{args.backlog} default tasks ran after {figures['critical_latency_s'] * 1000:.0f} ms "
            f"with {figures['backlog_left_when_critical_ran']} of them still waiting"
        )
        results.append({"name": f"{name}_tasks_per_s", "value": round(figures["tasks_per_s"], 1), "unit": "tasks/s"})
        results.append(
            {"name": f"{name}_critical_latency_ms", "value": round(figures["critical_latency_s"] * 1000), "unit": "ms"}
        )
    print(json.dumps({"name": "broker_throughput", "results": results}))


if __name__ == "__main__":
    main()
