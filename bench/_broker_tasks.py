"""Probe tasks for the broker benchmark and tests; a worker loads them with ``-I bench._broker_tasks``."""

import time
from pathlib import Path

from celery import shared_task


@shared_task(name="bench.touch")
def touch(path: str, seconds: float = 0.0) -> None:
    """Wait ``seconds`` (a task's work), then create ``path``: the caller sees it ran."""
    time.sleep(seconds)
    Path(path).touch()
