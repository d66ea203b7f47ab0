"""codecheck fixtures: sample files, uploads, a real checker pool, overlapping runs."""

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from codecheck.runner import SourceFile, pool_from_settings
from codecheck.services import codecheck_run
from conftest import run_at_once

SAMPLES = Path(__file__).resolve().parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}.py.txt").read_bytes()


def upload(name: str = "module.py", data: bytes = b"import os\n") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/x-python")


def sources(*datas: bytes, name: str = "module.py") -> list[SourceFile]:
    return [SourceFile(name, data) for data in datas]


@pytest.fixture(scope="module")
def checker():
    """A real long-lived pool of one checker process, shared by a module's tests."""
    pool = pool_from_settings(processes=1)
    yield pool
    pool.close()


class CountingChecker:
    """A real checker pool that counts the files handed to it, thread-safe."""

    def __init__(self, inner, counts: dict, lock: threading.Lock):
        self.inner, self.counts, self.lock = inner, counts, lock

    def check_many(self, sources):
        def counted():
            for source in sources:
                with self.lock:
                    self.counts[source.data] = self.counts.get(source.data, 0) + 1
                yield source

        return self.inner.check_many(counted())


def overlapping_runs(make_checker: Callable, runs: int = 3) -> tuple[list[int], dict[bytes, int]]:
    """``runs`` check runs at once, each in its own thread with its own checker from
    ``make_checker()``: the checks each run recorded, and how often each file's
    content was handed to a checker."""
    counts: dict[bytes, int] = {}
    lock = threading.Lock()

    def run() -> int:
        checker = CountingChecker(make_checker(), counts, lock)
        try:
            return codecheck_run(checker=checker)
        finally:
            checker.inner.close()

    results = run_at_once([run] * runs, timeout=120)
    assert [r for r in results if isinstance(r, Exception)] == []
    return results, counts
