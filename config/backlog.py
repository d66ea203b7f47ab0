"""The backlog gauges each app declares: read from its own rows when /metrics is scraped.

``config`` imports no app, so each app registers its readers from its
``AppConfig.ready()``; ``config.metrics`` turns them into gauges at scrape time.
A reader returns one number, or a mapping of label values to numbers.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

Reading = float | Mapping[tuple[str, ...], float]


@dataclass(frozen=True)
class BacklogGauge:
    name: str
    documentation: str
    read: Callable[[], Reading]
    labels: tuple[str, ...] = ()


_gauges: dict[str, BacklogGauge] = {}


def backlog_gauge_register(
    *, name: str, documentation: str, read: Callable[[], Reading], labels: tuple[str, ...] = ()
) -> None:
    """Idempotent by name, as ``ready()`` may run more than once in tests."""
    _gauges[name] = BacklogGauge(name=name, documentation=documentation, read=read, labels=labels)


def backlog_gauges() -> list[BacklogGauge]:
    return list(_gauges.values())
