"""Cached answers that are never stale: O(1) invalidation by generation number.

Every cached answer is stored with the generation number it was built under.
A change bumps the generation (after its transaction commits), so older
entries no longer match and are rebuilt. A reader that loaded old rows while a
write was committing stores them with the old generation, which never matches
again: no stale answer survives a commit. The generation and the entry are
read in one cache round trip (``get_many``). If a generation key is missing
(evicted, memcached restarted) a fresh, time-based one is created, never an
old number reused.
"""

import time
from functools import partial
from typing import Any

from django.core.cache import cache
from django.db import transaction

GENERATION_TIMEOUT = 24 * 60 * 60


class CachedAnswer:
    """One cache slot: ``get()`` returns the entry if it is current, ``set()`` stores a fresh one."""

    def __init__(self, *, generation_key: str, key: str, timeout: int):
        self.generation_key, self.key, self.timeout = generation_key, key, timeout
        self.generation: int | None = None

    def keys(self) -> list[str]:
        return [self.generation_key, self.key]

    def get(self, values: dict[str, Any] | None = None) -> Any | None:
        """The entry if current; ``values`` are this slot's keys already read (with others, in one round trip)."""
        values = cache.get_many(self.keys()) if values is None else values
        self.generation = values.get(self.generation_key)
        if self.generation is None:
            self.generation = _generation_create(self.generation_key)
            return None
        entry = values.get(self.key)
        if entry is not None and entry[0] == self.generation:
            return entry[1]
        return None

    def set(self, data: Any) -> None:
        # The generation read before the database was: if a change committed
        # since, this entry is already outdated and will never be served.
        cache.set(self.key, (self.generation, data), self.timeout)


def _generation_create(key: str) -> int:
    value = time.time_ns()
    # add() keeps a generation another process created meanwhile.
    if not cache.add(key, value, GENERATION_TIMEOUT):
        value = cache.get(key, value)
    return int(value)


def generation_bump(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:
        # Missing key (or memcached down): start a new, never-used generation.
        cache.set(key, time.time_ns(), GENERATION_TIMEOUT)


def generation_bump_on_commit(key: str) -> None:
    """Outdate every answer cached under ``key`` once the current transaction commits."""
    transaction.on_commit(partial(generation_bump, key))
