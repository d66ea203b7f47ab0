"""The compose project itself: replicas, the one-shot migration, a worker killed
with SIGKILL. These drive `docker compose` (E2E_COMPOSE) besides HTTP, and expect
the stack brought up with ``--scale web=2 --scale worker=2`` (E2E_SCALE=2)."""

import json
import os
import shlex
import signal
import subprocess
import time
import uuid

import pytest
import requests

from e2e.support import TIMEOUT, env_or_skip, wait_until
from e2e.test_files import upload_image, wait_processed

pytestmark = pytest.mark.docker


def compose(*args: str) -> str:
    command = [*shlex.split(env_or_skip("E2E_COMPOSE")), *args]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stdout  # noqa: S603


def containers(service: str) -> list[dict]:
    """The service's containers as `docker compose ps` reports them (one JSON object a line)."""
    output = compose("ps", "--all", "--format", "json", service)
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def inspect(container_id: str) -> dict:
    output = subprocess.run(  # noqa: S603
        ["docker", "inspect", container_id],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return json.loads(output)[0]


@pytest.fixture(scope="module")
def scale() -> int:
    return int(os.environ.get("E2E_SCALE") or 1)


def test_every_replica_is_healthy_and_migrations_ran_once(scale):
    for service in ("web", "worker"):
        states = [(c["State"], c["Health"]) for c in containers(service)]
        assert states == [("running", "healthy")] * scale, service
    [migrate] = containers("migrate")
    assert (migrate["State"], migrate["ExitCode"]) == ("exited", 0)
    # Only the one-shot service migrates: no web or worker replica ran a migration.
    assert "Running migrations" in compose("logs", "--no-log-prefix", "migrate")
    for service in ("web", "worker", "beat"):
        assert "Running migrations" not in compose("logs", service), service


def test_the_proxy_spreads_requests_over_every_web_replica(base_url, scale):
    probe = uuid.uuid4().hex
    for _ in range(12):
        assert requests.get(f"{base_url}/health/?probe={probe}", timeout=TIMEOUT).status_code == 200
    served_by = {
        line.split("|", 1)[0].strip() for line in compose("logs", "web").splitlines() if f"probe={probe}" in line
    }
    assert len(served_by) == scale, served_by


def test_a_worker_killed_with_sigkill_is_restarted_and_its_job_completes(user_api):
    """FILES_PROCESS_DELAY_SECONDS holds each processing attempt, so the kill lands
    mid-task; the stack's sweeper (FILES_STALE_AFTER_SECONDS) re-drives the file.
    Runs as root: it signals the container's process from the host."""
    created = upload_image(user_api, 320, 200)
    wait_until(
        lambda: user_api.get(f"/api/files/{created['id']}/").json()["status"] == "processing",
        timeout=60,
        interval=0.2,
        what="a worker took the file",
    )
    workers = {c["ID"]: inspect(c["ID"])["RestartCount"] for c in containers("worker")}

    # Every worker replica, so the one holding the task is among them. The main process
    # is killed from the host, as the kernel's OOM killer would: `docker kill` would
    # count as a deliberate stop, and the restart policy would rightly leave it stopped.
    for container_id in workers:
        os.kill(inspect(container_id)["State"]["Pid"], signal.SIGKILL)
    killed_at = time.monotonic()

    def restarted() -> bool:
        details = {container_id: inspect(container_id) for container_id in workers}
        return all(
            d["RestartCount"] == workers[container_id] + 1 and d["State"]["Status"] == "running"
            for container_id, d in details.items()
        )

    wait_until(restarted, timeout=60, what="the killed workers restarted by their restart policy")
    final = wait_processed(user_api, created["id"], timeout=240)

    assert (final["status"], final["kind"]) == ("done", "image"), final
    assert final["attempts"] >= 2  # the killed attempt, then the one that finished
    assert (final["result"]["width"], final["result"]["height"]) == (320, 200)
    assert user_api.get(f"/api/files/{created['id']}/thumbnail/").status_code == 200
    assert time.monotonic() - killed_at < 240
