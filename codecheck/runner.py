"""The parent side of the checker processes: start them, feed them files, restart one when it dies."""

import atexit
import base64
import contextlib
import json
import logging
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty, SimpleQueue

from django.conf import settings

logger = logging.getLogger(__name__)

CHECKER_PATH = Path(__file__).resolve().with_name("checker.py")
# The checker gets no project variables (no PYTHONPATH, no secrets), only a locale and PATH.
CHILD_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass(frozen=True)
class FindingOut:
    line: int
    column: int
    code: str
    message: str


@dataclass
class CheckOutcome:
    """What one check found: findings, or the reason flake8 could not check the file."""

    findings: list[FindingOut] = field(default_factory=list)
    error: str = ""
    # When the checker started and finished this file (set by a pool; not part of equality).
    started_at: datetime | None = field(default=None, compare=False, repr=False)
    finished_at: datetime | None = field(default=None, compare=False, repr=False)

    @property
    def passed(self) -> bool:
        return not self.error and not self.findings


class CheckerProcess:
    """One long-lived, resource-limited ``checker.py`` process, checking one file at a time.

    A file that exceeds the time limit gets the process killed (CPU limit inside,
    wall-clock limit here); a crash or kill is reported as that file's error and
    the next file starts a fresh process.
    """

    def __init__(self, *, time_limit: float, memory_bytes: int, flake8_args: list[str], start_timeout: float = 30):
        self.time_limit = time_limit
        self.memory_bytes = memory_bytes
        self.flake8_args = list(flake8_args)
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None
        self._buffer = b""
        self._outgoing = b""
        self._next_id = 0
        self._stdin_fd = self._stdout_fd = -1

    # --- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        config = {
            "memory_bytes": self.memory_bytes,
            "cpu_seconds": max(1, int(self.time_limit)),
            "flake8_args": self.flake8_args,
        }
        self._buffer = self._outgoing = b""
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv: our interpreter and our script
            [sys.executable, "-I", str(CHECKER_PATH), json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=CHILD_ENV,
            cwd="/",
            start_new_session=True,
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self._stdin_fd, self._stdout_fd = self.process.stdin.fileno(), self.process.stdout.fileno()
        os.set_blocking(self._stdin_fd, False)
        ready = self._read_reply(time.monotonic() + self.start_timeout)
        if not ready or not ready.get("ready"):
            status = self._kill()
            raise RuntimeError(f"the flake8 checker process did not start (exit status {status})")

    def close(self) -> None:
        if self.process is None:
            return
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(2)
        except (OSError, subprocess.TimeoutExpired):
            self._kill()
        self.process = None

    def _kill(self) -> int | None:
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # exited between poll and kill
                os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        for stream in (process.stdin, process.stdout):
            with contextlib.suppress(OSError):  # a broken pipe on close
                if stream is not None:
                    stream.close()
        return process.returncode

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    # --- checking ----------------------------------------------------------

    def check(self, data: bytes) -> CheckOutcome:
        return next(self.check_many([data]))

    def check_many(self, sources: Iterable[bytes], window: int = 2) -> Iterator[CheckOutcome]:
        """Outcomes in order, keeping up to ``window`` files queued so the checker never waits
        while the caller records the previous result.

        When the process dies on a file (time limit, memory, crash), that file gets
        the error and the files queued behind it are sent again to a fresh process.
        """
        queued: deque[tuple[int, bytes]] = deque()
        pending = iter(sources)
        exhausted = False
        while True:
            while not exhausted and len(queued) < window:
                if queued and not self._alive():
                    break  # the head's read sees the death, then the rest is sent again
                data = next(pending, None)
                if data is None:
                    exhausted = True
                    break
                if not self._alive():
                    self._kill()
                    self.start()
                queued.append(self._send(data))
            if not queued:
                return
            request_id, _ = queued[0]
            outcome, died = self._receive(request_id)
            queued.popleft()
            if died:
                self._kill()
                resend = list(queued)
                queued.clear()
                if resend:
                    self.start()
                    queued.extend(self._send(data) for _, data in resend)
            yield outcome

    def _alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _send(self, data: bytes) -> tuple[int, bytes]:
        self._next_id += 1
        request = json.dumps({"id": self._next_id, "data": base64.b64encode(data).decode("ascii")}) + "\n"
        self._outgoing += request.encode("ascii")
        self._pump(read=False, deadline=time.monotonic())
        return self._next_id, data

    def _receive(self, request_id: int) -> tuple[CheckOutcome, bool]:
        """The outcome of ``request_id`` and whether the process is gone (or must go)."""
        # The CPU limit inside fires first; the wall clock catches a process that sleeps or blocks.
        reply = self._read_reply(time.monotonic() + self.time_limit + 5)
        if reply is None:
            status = self._kill()
            if status in (None, -signal.SIGKILL, -signal.SIGXCPU):
                return CheckOutcome(error=f"flake8 exceeded the time limit of {self.time_limit:g} s"), True
            return CheckOutcome(error=f"flake8 crashed (exit status {status})"), True
        if reply.get("id") != request_id:
            return CheckOutcome(error="the flake8 checker process answered out of turn"), True
        if "error" in reply:
            return CheckOutcome(error=reply["error"]), bool(reply.get("fatal"))
        return CheckOutcome(findings=[FindingOut(*row) for row in reply["findings"]]), False

    def _read_reply(self, deadline: float) -> dict | None:
        """The next JSON line, or None on EOF or when the deadline passes."""
        if not self._pump(read=True, deadline=deadline):
            return None
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def _pump(self, *, read: bool, deadline: float) -> bool:
        """Write queued requests as the pipe takes them and, if ``read``, read until a whole reply
        line is buffered (True) or EOF or the deadline (False).

        Writing and reading in one loop means a large reply and a large queued
        request can never block each other.
        """
        stdin, stdout = self._stdin_fd, self._stdout_fd
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while True:
                if self._outgoing:
                    try:
                        written = os.write(stdin, self._outgoing)
                        self._outgoing = self._outgoing[written:]
                    except BlockingIOError:
                        pass
                    except OSError:  # the process is gone; its EOF on stdout tells the reader
                        self._outgoing = b""
                if not read:
                    return True
                if b"\n" in self._buffer:
                    return True
                if self._outgoing and stdin not in selector.get_map():
                    selector.register(stdin, selectors.EVENT_WRITE)
                elif not self._outgoing and stdin in selector.get_map():
                    selector.unregister(stdin)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                for key, _ in selector.select(remaining):
                    if key.fd == stdout:
                        chunk = os.read(stdout, 1 << 16)
                        if not chunk:
                            return False
                        self._buffer += chunk


@dataclass
class _Job:
    data: bytes
    future: Future = field(default_factory=Future)


_STOP = None


class CheckerPool:
    """Several long-lived checker processes checking files in parallel, each one as isolated
    and resource-limited as a lone ``CheckerProcess``.

    One driver thread per process takes files from a shared queue (so a slow file
    holds up only its own process) and, while no other process is free, keeps up
    to two in that process's pipe.
    ``check_many`` submits every file at once and yields the outcomes in the order
    of the files. The driver threads never touch the database.
    """

    def __init__(self, *, processes: int, time_limit: float, memory_bytes: int, flake8_args: list[str]):
        if processes < 1:
            raise ValueError(f"a checker pool needs at least one process, not {processes}")
        self.checkers = [
            CheckerProcess(time_limit=time_limit, memory_bytes=memory_bytes, flake8_args=flake8_args)
            for _ in range(processes)
        ]
        self._jobs: SimpleQueue[_Job | None] = SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._idle = 0  # driver threads waiting for a file

    @property
    def size(self) -> int:
        return len(self.checkers)

    @property
    def pids(self) -> list[int | None]:
        return [checker.pid for checker in self.checkers]

    def submit(self, data: bytes) -> Future:
        """Queue one file; the future's result is its ``CheckOutcome``."""
        self._start_threads()
        job = _Job(data)
        self._jobs.put(job)
        return job.future

    def check(self, data: bytes) -> CheckOutcome:
        return self.submit(data).result()

    def check_many(self, sources: Iterable[bytes]) -> Iterator[CheckOutcome]:
        """Submit every file now (not when the iterator is first read); yield outcomes in order."""
        return self._results([self.submit(data) for data in sources])

    @staticmethod
    def _results(futures: list[Future]) -> Iterator[CheckOutcome]:
        try:
            for future in futures:
                yield future.result()
        finally:  # the caller stopped early: files not yet started are not checked
            for future in futures:
                future.cancel()

    def close(self) -> None:
        with self._lock:
            threads, self._threads = self._threads, []
        while True:  # files still queued are cancelled, not checked
            try:
                job = self._jobs.get_nowait()
            except Empty:
                break
            if job is not None:
                job.future.cancel()
        for _ in threads:
            self._jobs.put(_STOP)
        for thread in threads:
            thread.join()
        for checker in self.checkers:
            checker.close()

    def _start_threads(self) -> None:
        with self._lock:
            if self._threads:
                return
            for number, checker in enumerate(self.checkers):
                thread = threading.Thread(
                    target=self._drive, args=(checker,), name=f"codecheck-checker-{number}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _drive(self, checker: CheckerProcess) -> None:
        """Feed one process from the queue until told to stop; each outcome resolves its job's future."""
        in_flight: deque[tuple[_Job, datetime]] = deque()
        stopped = False
        last_done = datetime.now(UTC)

        def feed() -> Iterator[bytes]:
            nonlocal stopped
            while True:
                # Block only while this process has nothing to do. Take a second file into
                # its pipe only if one is waiting and no other process is free, so a reply
                # is never held up by an empty queue and files spread over the processes.
                if in_flight:
                    if self._idle:  # another process is free: the next file is its
                        return
                    try:
                        job = self._jobs.get_nowait()
                    except Empty:
                        return
                else:
                    with self._lock:
                        self._idle += 1
                    job = self._jobs.get()
                    with self._lock:
                        self._idle -= 1
                if job is None:
                    stopped = True
                    return
                if job.future.set_running_or_notify_cancel():
                    in_flight.append((job, datetime.now(UTC)))
                    yield job.data

        while not stopped:
            try:
                for outcome in checker.check_many(feed()):
                    job, pulled_at = in_flight.popleft()
                    outcome.started_at, outcome.finished_at = max(pulled_at, last_done), datetime.now(UTC)
                    last_done = outcome.finished_at
                    job.future.set_result(outcome)
            except Exception as exc:  # the process could not be started: those files' callers see why
                logger.exception("codecheck checker process failed")
                while in_flight:
                    in_flight.popleft()[0].future.set_exception(exc)


_local = threading.local()


def _limits_from_settings() -> dict:
    return {
        "time_limit": settings.CODECHECK_TIME_LIMIT_SECONDS,
        "memory_bytes": settings.CODECHECK_MEMORY_LIMIT_BYTES,
        "flake8_args": settings.CODECHECK_FLAKE8_ARGS,
    }


def checker_from_settings() -> CheckerProcess:
    return CheckerProcess(**_limits_from_settings())


def pool_from_settings(processes: int | None = None) -> CheckerPool:
    return CheckerPool(processes=processes or settings.CODECHECK_CHECKER_PROCESSES, **_limits_from_settings())


def get_checker() -> CheckerPool:
    """This thread's pool of checker processes: a forked worker child or a thread-pool worker gets its own."""
    pool, pid = getattr(_local, "pool", None), getattr(_local, "pid", None)
    if pool is None or pid != os.getpid():
        pool = _local.pool = pool_from_settings()
        _local.pid = os.getpid()
        atexit.register(pool.close)
    return pool
