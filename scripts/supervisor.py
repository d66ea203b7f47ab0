"""`make run`'s process supervisor: starts the Procfile's processes and keeps them up.

Standard library only, so it runs before anything else is installed. Unlike
honcho, one process's exit never stops the others:

- ``PORT`` must be free: another server on it (even one sharing it with
  ``SO_REUSEPORT``, as gunicorn's workers do) fails the start at once.
- Flower is optional: on a busy ``FLOWER_PORT`` it gets a free port, and if it
  keeps crashing it is left stopped with a warning.
- Any other process that exits is restarted, with a growing pause while it keeps
  crashing at start; one that cannot stay up stops the whole stack.
- SIGINT (Ctrl-C) or SIGTERM stops every process and exits 0.

Each process runs in its own process group, so Ctrl-C reaches only this
supervisor, which stops the processes in order and quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
OPTIONAL = {"flower"}
# A process that dies sooner than this after its start counts as crashing at start.
STARTUP_SECONDS = 10.0
MAX_QUICK_CRASHES = 5
STOP_TIMEOUT_SECONDS = 15.0

_output_lock = threading.Lock()


def say(name: str, message: str) -> None:
    with _output_lock:
        sys.stdout.write(f"{time.strftime('%H:%M:%S')} {name:<14} | {message}\n")
        sys.stdout.flush()


def port_is_free(port: int, host: str = HOST) -> bool:
    """True when nothing listens on ``host:port``. No SO_REUSEPORT here, so a
    listener that has it set (gunicorn's workers) still makes the bind fail."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR only skips connections lingering in TIME_WAIT, never a listener.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def free_port(host: str = HOST) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def accepts_connections(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def read_procfile(path: Path) -> dict[str, str]:
    """``name: command`` lines; blank lines and ``#`` comments are skipped."""
    entries: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def busy_port_message(port: int) -> str:
    return (
        f"Port {port} on {HOST} is already in use (another `make run` or server?).\n"
        f"Stop it, or choose another port: make run PORT={port + 1}"
    )


@dataclass
class Child:
    name: str
    command: str
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    quick_crashes: int = 0
    restart_at: float | None = None
    given_up: bool = False
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        # The shell expands ${VAR:-default} as honcho did; exec leaves one process.
        self.process = subprocess.Popen(  # noqa: S603  (the project's own Procfile)
            ["/bin/sh", "-c", f"exec {self.command}"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started_at = time.monotonic()
        self.restart_at = None
        threading.Thread(target=self._pump, args=(self.process,), daemon=True).start()
        say("supervisor", f"{self.name} started (pid {self.process.pid})")

    def _pump(self, process: subprocess.Popen) -> None:
        for raw in process.stdout or ():
            say(self.name, raw.decode(errors="replace").rstrip("\n"))

    def signal_group(self, signum: int) -> None:
        """Signal the process and everything it started (its pool, its workers)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signum)


class Supervisor:
    def __init__(self, procfile: Path, env: dict[str, str]):
        self.env = env
        self.port = int(env.get("PORT") or 8000)
        self.children = [Child(name, command, env=env) for name, command in read_procfile(procfile).items()]
        self.stopping = False
        self.stop_signal = 0
        self.web_ready = False
        self.exit_code = 0

    def request_stop(self, signum: int, _frame) -> None:
        # Only a flag: the handler may interrupt this thread inside say(), holding its lock.
        self.stop_signal = self.stop_signal or signum
        self.stopping = True

    def prepare_flower(self) -> None:
        flower = self.child("flower")
        if flower is None:
            return
        wanted = int(self.env.get("FLOWER_PORT") or 5555)
        if port_is_free(wanted):
            self.env["FLOWER_PORT"] = str(wanted)
            return
        other = free_port()
        self.env["FLOWER_PORT"] = str(other)
        say("supervisor", f"WARNING: Flower's port {wanted} is busy; Flower uses {other} instead (set FLOWER_PORT)")

    def child(self, name: str) -> Child | None:
        return next((c for c in self.children if c.name == name), None)

    def run(self) -> int:
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)
        if not port_is_free(self.port):
            sys.stderr.write(busy_port_message(self.port) + "\n")
            return 1
        self.prepare_flower()
        for child in self.children:
            if not self.stopping:
                child.start()
        while not self.stopping:
            self.tick()
            time.sleep(0.2)
        if self.stop_signal:
            say("supervisor", f"{signal.Signals(self.stop_signal).name} received, stopping every process")
        self.stop_all()
        return self.exit_code

    def tick(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.given_up or child.process is None:
                continue
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self.restart(child)
                continue
            code = child.process.poll()
            if code is None:
                continue
            self.on_exit(child, code, now)
        if not self.web_ready and accepts_connections(self.port):
            self.web_ready = True
            flower = f", Flower http://{HOST}:{self.env['FLOWER_PORT']}/" if self.child("flower") else ""
            say(
                "supervisor",
                f"Serving on http://{HOST}:{self.port}/  (API docs /api/docs/, health /health/{flower})."
                " Ctrl-C stops all.",
            )

    def on_exit(self, child: Child, code: int, now: float) -> None:
        child.signal_group(signal.SIGKILL)  # what it left behind (pool processes) goes with it
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
        child.quick_crashes = child.quick_crashes + 1 if now - child.started_at < STARTUP_SECONDS else 1
        if child.quick_crashes >= MAX_QUICK_CRASHES:
            if child.name in OPTIONAL:
                child.given_up = True
                say("supervisor", f"WARNING: {child.name} {how} and keeps failing; left stopped, the rest runs on")
                return
            say("supervisor", f"ERROR: {child.name} {how} and keeps failing at start; stopping everything")
            self.exit_code = 1
            self.stopping = True
            return
        delay = min(2 ** (child.quick_crashes - 1), 30)
        child.restart_at = now + delay
        say("supervisor", f"{child.name} {how}; restarting it in {delay}s")
        if child.name == "web":
            self.web_ready = False

    def restart(self, child: Child) -> None:
        if child.name == "web" and not port_is_free(self.port):
            sys.stderr.write(busy_port_message(self.port) + "\n")
            self.exit_code = 1
            self.stopping = True
            return
        child.start()

    def stop_all(self) -> None:
        running = [(c, c.process) for c in self.children if c.process is not None and c.process.poll() is None]
        # The main process only: it stops its own pool or workers (a pool process
        # signalled directly dies mid-task and is reported as an error).
        for _child, process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for child, process in running:
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                say("supervisor", f"{child.name} did not stop in {STOP_TIMEOUT_SECONDS:.0f}s; killing it")
            child.signal_group(signal.SIGKILL)
        say("supervisor", "all processes stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procfile", type=Path, default=Path("Procfile"))
    parser.add_argument("--check-port", action="store_true", help="only check that PORT is free, then exit")
    args = parser.parse_args(argv)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # Before anything is changed: on a busy port another run may own the metrics folder.
    port = int(env.get("PORT") or 8000)
    if not port_is_free(port):
        sys.stderr.write(busy_port_message(port) + "\n")
        return 1
    if args.check_port:
        return 0
    metrics_dir_reset(env)
    return Supervisor(args.procfile, env).run()


def metrics_dir_reset(env: dict[str, str]) -> Path:
    """Every process writes its Prometheus samples to one folder (``/metrics`` sums
    them): start it empty, as prometheus-client's multiprocess mode requires, and
    hand every process the same path."""
    path = Path(env.get("PROMETHEUS_MULTIPROC_DIR") or Path(env.get("VAR_DIR") or "var") / "metrics").resolve()
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path


if __name__ == "__main__":
    sys.exit(main())
