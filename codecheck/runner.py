"""The parent side of the checker: a pebble process pool of isolated flake8 workers (``codecheck.checker``)."""

import atexit
import os
import signal
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import CancelledError, Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

import billiard
from django.conf import settings
from pebble import ProcessExpired, ProcessFuture, ProcessPool

from codecheck.checker import Checked, WorkerConfig, check_file, worker_init

# Fresh interpreters, not forks: nothing of the Django process (settings, secrets, connections) is
# inherited. Started through billiard (Celery's multiprocessing) because a prefork worker child is
# daemonic, and multiprocessing refuses children to daemonic processes.
SPAWN = billiard.get_context("spawn")
# The wall clock allows this much beyond the CPU limit, which the worker enforces first.
WALL_CLOCK_GRACE_SECONDS = 5


class SourceFile(NamedTuple):
    name: str
    data: bytes


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
    # When the worker started and finished this file, and which process it was (not part of equality).
    started_at: datetime | None = field(default=None, compare=False, repr=False)
    finished_at: datetime | None = field(default=None, compare=False, repr=False)
    checker_pid: int | None = field(default=None, compare=False, repr=False)

    @property
    def passed(self) -> bool:
        return not self.error and not self.findings


def _outcome(checked: Checked) -> CheckOutcome:
    return CheckOutcome(
        findings=[FindingOut(*row) for row in checked.findings],
        error=checked.error,
        started_at=datetime.fromtimestamp(checked.started, UTC),
        finished_at=datetime.fromtimestamp(checked.finished, UTC),
        checker_pid=checked.pid,
    )


class CheckerPool:
    """``processes`` long-lived, resource-limited flake8 workers checking files in parallel.

    A worker takes one file at a time from the pool's queue, so a slow file holds
    up only its own worker. A file over the time limit (CPU inside the worker,
    wall clock here) or whose worker crashes gets that error; pebble replaces the
    worker and the other files go on. Each worker is replaced after
    ``max_tasks`` files. The pool starts on the first file and again after
    ``close()``.
    """

    def __init__(
        self, *, processes: int, time_limit: float, memory_bytes: int, flake8_args: list[str], max_tasks: int = 0
    ):
        if processes < 1:
            raise ValueError(f"a checker pool needs at least one process, not {processes}")
        self.size = processes
        self.time_limit = time_limit
        self.max_tasks = max_tasks
        self.config = WorkerConfig(
            memory_bytes=memory_bytes, cpu_seconds=max(1, int(time_limit)), flake8_args=tuple(flake8_args)
        )
        self._pool: ProcessPool | None = None
        self._futures: set[ProcessFuture] = set()  # not done yet
        self._sources: dict[ProcessFuture, SourceFile] = {}  # until their outcome is read
        self._lock = threading.Lock()

    def submit(self, source: SourceFile) -> ProcessFuture:
        """Queue one file; ``outcome_of(future)`` gives its ``CheckOutcome``."""
        with self._lock:
            if self._pool is not None and not self._pool.active:
                # pebble gives a pool up when a worker dies holding no file (killed while idle).
                self._pool.stop()
                self._pool = None
            if self._pool is None:
                self._pool = ProcessPool(
                    max_workers=self.size, max_tasks=self.max_tasks, initializer=worker_init, context=SPAWN
                )
            future = self._pool.schedule(
                check_file,
                args=(source.name, source.data, self.config),
                timeout=self.time_limit + WALL_CLOCK_GRACE_SECONDS,
            )
            self._futures.add(future)
            self._sources[future] = source
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._futures.discard(future)

    def outcome_of(self, future: ProcessFuture, *, resubmit: bool = True) -> CheckOutcome:
        """The file's outcome; a worker killed by a limit or crashed is that file's error.

        A file that never started because pebble gave its pool up is sent once
        more, to a fresh pool.
        """
        with self._lock:
            source = self._sources.pop(future, None)
        try:
            return _outcome(future.result())
        except BrokenProcessPool:
            if not resubmit or source is None:
                return CheckOutcome(error="flake8 could not be started: the checker processes exited")
            return self.outcome_of(self.submit(source), resubmit=False)
        except TimeoutError:
            return CheckOutcome(error=self._time_limit_error())
        except ProcessExpired as expired:
            if expired.exitcode in (-signal.SIGXCPU, -signal.SIGKILL):
                return CheckOutcome(error=self._time_limit_error())
            return CheckOutcome(error=f"flake8 crashed (exit status {expired.exitcode})")
        except CancelledError:
            raise
        except Exception as exc:  # raised in the worker outside flake8, e.g. no memory left to answer
            return CheckOutcome(error=f"flake8 crashed: {type(exc).__name__}: {exc}")

    def _time_limit_error(self) -> str:
        return f"flake8 exceeded the time limit of {self.time_limit:g} s"

    def check(self, data: bytes, name: str = "module.py") -> CheckOutcome:
        return self.outcome_of(self.submit(SourceFile(name, data)))

    def check_many(self, sources: Iterable[SourceFile]) -> Iterator[CheckOutcome]:
        """Submit every file now (not when the iterator is first read); yield outcomes in order."""
        return self._results([self.submit(source) for source in sources])

    def _results(self, futures: list[ProcessFuture]) -> Iterator[CheckOutcome]:
        try:
            for future in futures:
                yield self.outcome_of(future)
        finally:  # the caller stopped early: files not yet started are not checked
            for future in futures:
                if not future.running():
                    future.cancel()

    def close(self) -> None:
        """Cancel the files not yet started, wait for those being checked, stop the workers."""
        with self._lock:
            pool, self._pool = self._pool, None
            futures = list(self._futures)
            self._sources.clear()
        if pool is None:
            return
        for future in futures:
            if not future.running():
                future.cancel()
        pool.close()
        pool.join()

    def __enter__(self) -> "CheckerPool":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_local = threading.local()


def pool_from_settings(processes: int | None = None) -> CheckerPool:
    return CheckerPool(
        processes=processes or settings.CODECHECK_CHECKER_PROCESSES,
        time_limit=settings.CODECHECK_TIME_LIMIT_SECONDS,
        memory_bytes=settings.CODECHECK_MEMORY_LIMIT_BYTES,
        flake8_args=settings.CODECHECK_FLAKE8_ARGS,
        max_tasks=settings.CODECHECK_CHECKER_MAX_TASKS,
    )


def get_checker() -> CheckerPool:
    """This thread's pool: a forked worker child or a thread-pool worker gets its own."""
    pool, pid = getattr(_local, "pool", None), getattr(_local, "pid", None)
    if pool is None or pid != os.getpid():
        pool = _local.pool = pool_from_settings()
        _local.pid = os.getpid()
        atexit.register(pool.close)
    return pool
