"""`make run` on embedded defaults (no service URL): every process up, kept up by its supervisor."""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from config.gunicorn import worker_count
from conftest import BASE_DIR, free_port, wait_until

SERVICE_VARIABLES = ("DATABASE_URL", "CACHE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL", "MEMCACHED_URL")


def _request(url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _upload(url: str, token: str, name: str, content: bytes) -> dict:
    boundary = "----embedded-defaults"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return json.loads(response.read())


def _environment(var_dir: Path, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES and not k.startswith("DJANGO_")}
    env.update({"VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "config.settings.base", **variables})
    return env


def _migrated_var_dir(tmp_path: Path) -> Path:
    """The VAR_DIR that `make run`'s migrate step leaves: the embedded database, migrated."""
    var_dir = tmp_path / "var"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=_environment(var_dir),
        check=True,
        timeout=120,
    )
    return var_dir


def _children(pid: int) -> list[int]:
    """Every live descendant of ``pid``, from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class MakeRun:
    """``make run`` after its migrate step: the supervisor and the Procfile's processes."""

    def __init__(self, tmp_path: Path, port: int, flower_port: int, migrated: Path):
        self.var_dir = tmp_path / "var"
        self.env = _environment(self.var_dir, PORT=str(port), FLOWER_PORT=str(flower_port))
        self.base = f"http://127.0.0.1:{port}"
        self.log = tmp_path / "run.log"
        self.migrated = migrated
        self.process: subprocess.Popen | None = None
        self.stopping: list[int] | None = None  # the processes a stop was asked of

    def start(self) -> "MakeRun":
        shutil.copytree(self.migrated, self.var_dir)  # migrated once for the module, not per run
        self.process = subprocess.Popen(
            [sys.executable, "scripts/supervisor.py"],
            cwd=BASE_DIR,
            env=self.env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # as a terminal's foreground job: Ctrl-C goes to the group
        )
        wait_until(lambda: "Serving on" in self.output(), timeout=90)
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def pid_of(self, name: str) -> int:
        """The newest pid the supervisor reported for process ``name``."""
        return int(re.findall(rf"\| {re.escape(name)} started \(pid (\d+)\)", self.output())[-1])

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT to the whole foreground process group; the exit code."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(40)

    def stop_soon(self) -> None:
        """Ctrl-C without waiting for the processes to stop (``stop`` waits)."""
        if self.process is None or self.process.poll() is not None or self.stopping is not None:
            return
        self.stopping = _children(self.process.pid)
        os.killpg(self.process.pid, signal.SIGINT)

    def stop(self) -> None:
        self.stop_soon()
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.process.wait(40)
        except subprocess.TimeoutExpired:
            for pid in [self.process.pid, *(self.stopping or [])]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def start_make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., MakeRun]]:
    """Starts systems for the module. Each is asked to stop when its test or tests are
    done and waited for here, so one system's shutdown overlaps the next test."""
    if not Path(BASE_DIR, ".venv/bin/celery").exists():
        pytest.skip("needs the project virtualenv (.venv) that `make` creates")
    migrated = _migrated_var_dir(tmp_path_factory.mktemp("migrated"))
    runs: list[MakeRun] = []

    def start(flower_port: int | None = None) -> MakeRun:
        run = MakeRun(tmp_path_factory.mktemp("run"), free_port(), flower_port or free_port(), migrated)
        runs.append(run)
        return run.start()

    yield start
    for run in runs:
        run.stop()


@pytest.fixture
def make_run(start_make_run):
    """A system of the test's own, for tests that disturb it."""
    runs: list[MakeRun] = []

    def start(flower_port: int | None = None) -> MakeRun:
        runs.append(start_make_run(flower_port))
        return runs[-1]

    yield start
    for run in runs:
        run.stop_soon()


@pytest.fixture(scope="module")
def embedded_system(start_make_run):
    """One system shared by the tests that only use it and read its log."""
    run = start_make_run()
    yield run.base, run.log, int(run.env["FLOWER_PORT"])
    run.stop_soon()


@pytest.fixture(scope="module")
def supervised_system(start_make_run):
    """One system shared by the tests that kill a process and watch it come back: each
    test kills a different process or waits for the one it killed to be back."""
    run = start_make_run()
    yield run
    run.stop_soon()


def _listening_sockets(port: int) -> int:
    """Sockets in state LISTEN (0A) on 127.0.0.1:``port``, from the kernel's table."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if row[1] == f"0100007F:{port:04X}" and row[3] == "0A")


@pytest.mark.e2e
def test_each_web_worker_listens_on_its_own_socket(embedded_system):
    """config/gunicorn.py: one worker per CPU, each on its own socket (reuse_port),
    so the kernel, not the first worker to wake, spreads the connections."""
    base, _log, _flower_port = embedded_system
    workers = worker_count(os.environ)

    assert wait_until(lambda: _listening_sockets(int(base.rsplit(":", 1)[1])) == workers)


@pytest.mark.e2e
def test_embedded_defaults_serve_auth_and_process_uploads(embedded_system):
    base, log, flower_port = embedded_system

    health = _request(f"{base}/health/")
    registered = _request(
        f"{base}/api/auth/register/", {"email": "run@example.com", "password": "correct-horse-battery"}
    )
    tokens = _request(f"{base}/api/auth/login/", {"email": "run@example.com", "password": "correct-horse-battery"})[1]
    me = _request(f"{base}/api/auth/me/", token=tokens["access"])

    assert health == (200, {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}})
    assert registered[0] == 201
    assert me == (200, {"id": registered[1]["id"], "email": "run@example.com", "username": "run", "is_staff": False})
    uploaded = _upload(f"{base}/api/upload/", tokens["access"], "notes.txt", b"one two three\nfour\n")

    def processed_file():
        body = _request(f"{base}/api/files/{uploaded['id']}/", token=tokens["access"])[1]
        return body if body["processed"] else None

    final = wait_until(processed_file)
    assert (final["kind"], final["result"]["words"], final["result"]["lines"]) == ("text", 4, 2)
    output = log.read_text()
    assert re.search(r"^\S+ worker +\| .*critical@\S+ ready", output, re.MULTILINE)
    assert re.search(r"^\S+ worker-default +\| .*default@\S+ ready", output, re.MULTILINE)
    assert re.search(r"^\S+ beat +\| ", output, re.MULTILINE)
    assert "config.broker:Transport://" in output  # the workers are on the serverless broker
    with urllib.request.urlopen(f"http://127.0.0.1:{flower_port}/healthcheck", timeout=10) as flower:
        assert flower.read() == b"OK"


@pytest.mark.e2e
def test_the_log_says_each_thing_once(embedded_system):
    base, log, _flower_port = embedded_system
    _request(f"{base}/api/auth/register/", {"email": "log@example.com", "password": "correct-horse-9"})
    token = _request(f"{base}/api/auth/login/", {"email": "log@example.com", "password": "correct-horse-9"})[1]
    uploaded = _upload(f"{base}/api/upload/", token["access"], "a.txt", b"a b c\n")
    wait_until(lambda: _request(f"{base}/api/files/{uploaded['id']}/", token=token["access"])[1]["processed"])
    time.sleep(1)  # the task logs its end after the commit, and a doubled line would follow it

    output = log.read_text()

    # This test's own task: the system is shared, other tests' tasks are in the log too.
    succeeded = rf"task succeeded name=files.tasks.file_process_task id=(\S+) args=\[{uploaded['id']}\] in "
    task_id = re.search(succeeded, output)[1]
    assert output.count(task_id) == 1
    assert "No hostname was supplied" not in output
    assert not re.search(r"Listening at: +\(", output)
    listening = output.index(f"Listening at: {base}")
    assert output.index("Serving on") > listening


def _health(base: str) -> int:
    try:
        return _request(f"{base}/health/")[0]
    except OSError:
        return 0


@pytest.mark.e2e
def test_a_busy_port_fails_at_once_and_says_which_and_what_to_do(make_run):
    """With reuse_port a second server used to start "cleanly" and share the port."""
    running = make_run()
    port = running.env["PORT"]

    for command in (["scripts/supervisor.py"], ["scripts/supervisor.py", "--check-port"]):
        started = time.monotonic()
        second = subprocess.run(
            [sys.executable, *command], cwd=BASE_DIR, env=running.env, capture_output=True, text=True, timeout=30
        )

        assert second.returncode == 1
        assert time.monotonic() - started < 5
        assert f"Port {port} on 127.0.0.1 is already in use" in second.stderr
        assert f"make run PORT={int(port) + 1}" in second.stderr
    assert _health(running.base) == 200


@pytest.mark.e2e
@pytest.mark.parametrize("name", ["worker", "worker-default", "beat"])
def test_a_killed_worker_or_beat_is_restarted_while_web_serves(supervised_system, name):
    run = supervised_system
    old_pid = run.pid_of(name)
    logged_before = len(run.output())
    statuses = []

    os.kill(old_pid, signal.SIGKILL)
    wait_until(lambda: statuses.append(_health(run.base)) or run.pid_of(name) != old_pid, timeout=30, interval=0.2)

    assert set(statuses) == {200}
    assert f"{name} killed by SIGKILL; restarting it" in run.output()[logged_before:]
    new_pid = run.pid_of(name)
    if name.startswith("worker"):
        queue = "critical" if name == "worker" else "default"
        wait_until(lambda: re.search(rf"{queue}@\S+ ready", run.output().split(f"(pid {new_pid})", 1)[1]), 60)
    time.sleep(2)
    assert Path(f"/proc/{new_pid}").exists()  # it stays up
    assert _health(run.base) == 200


@pytest.mark.e2e
def test_a_restarted_critical_worker_processes_uploads(supervised_system):
    run = supervised_system
    os.kill(run.pid_of("worker"), signal.SIGKILL)
    registered = _request(f"{run.base}/api/auth/register/", {"email": "k@example.com", "password": "correct-horse-9"})
    token = _request(f"{run.base}/api/auth/login/", {"email": "k@example.com", "password": "correct-horse-9"})[1]

    uploaded = _upload(f"{run.base}/api/upload/", token["access"], "notes.txt", b"one two\n")

    assert registered[0] == 201
    assert wait_until(
        lambda: _request(f"{run.base}/api/files/{uploaded['id']}/", token=token["access"])[1]["processed"], 60
    )


@pytest.mark.e2e
def test_a_busy_flower_port_moves_flower_and_the_stack_runs(make_run):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]

        run = make_run(flower_port=busy)
        moved = int(re.search(rf"Flower's port {busy} is busy; Flower uses (\d+) instead", run.output())[1])

        def flower_answers():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{moved}/healthcheck", timeout=5) as flower:
                    return flower.read() == b"OK"
            except OSError:
                return False

        assert wait_until(flower_answers, timeout=60)
        assert _health(run.base) == 200
        assert f"Flower http://127.0.0.1:{moved}/" in run.output()
        for name in ("web", "worker", "worker-default", "beat"):
            assert Path(f"/proc/{run.pid_of(name)}").exists()


@pytest.mark.e2e
def test_ctrl_c_stops_every_process_quietly(make_run):
    run = make_run()
    processes = _children(run.process.pid)
    assert len(processes) >= 5

    code = run.interrupt()

    assert code == 0
    # within a second: the processes SIGKILLed last may still be being reaped
    assert wait_until(lambda: not [pid for pid in processes if Path(f"/proc/{pid}").exists()], timeout=1)
    tail = run.output().split("SIGINT received", 1)[1]
    assert "Traceback" not in tail
    assert "ERROR" not in tail
    assert "all processes stopped" in tail
