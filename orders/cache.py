"""Cache of the product list and order detail, with O(1) invalidation by generation.

Every cached answer is stored with the generation number it was built under.
A change bumps the generation (after its transaction commits), so older
entries no longer match and are rebuilt. A reader that loaded old rows while a
write was committing stores them with the old generation, which never matches
again: no stale answer survives a commit. The generation and the entry are
read in one memcached round trip (``get_many``). If a generation key is
missing (evicted, memcached restarted) a fresh, time-based one is created,
never an old number reused.
"""

import hashlib
import time
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.core.cache import cache
from django.db import transaction

PRODUCT_LIST_TIMEOUT = 5 * 60
ORDER_DETAIL_TIMEOUT = 60
_GENERATION_TIMEOUT = 24 * 60 * 60
PRODUCT_LIST_GENERATION_KEY = "orders:products:gen"


class CachedAnswer:
    """One cache slot: ``get()`` returns the entry if it is current, ``set()`` stores a fresh one."""

    def __init__(self, *, generation_key: str, key: str, timeout: int):
        self.generation_key, self.key, self.timeout = generation_key, key, timeout
        self.generation: int | None = None

    def get(self) -> Any | None:
        values = cache.get_many([self.generation_key, self.key])
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
    if not cache.add(key, value, _GENERATION_TIMEOUT):
        value = cache.get(key, value)
    return int(value)


def _bump(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:
        # Missing key (or memcached down): start a new, never-used generation.
        cache.set(key, time.time_ns(), _GENERATION_TIMEOUT)


def _order_generation_key(order_id: int) -> str:
    return f"orders:order:{order_id}:gen"


def product_list_answer(*, host: str, query: Iterable[tuple[str, object]]) -> CachedAnswer:
    """One slot per normalized query (parameter order does not matter), shared by all users."""
    raw = "&".join(f"{k}={v}" for k, v in sorted(query))
    digest = hashlib.sha256(f"{host}|{raw}".encode()).hexdigest()[:32]
    return CachedAnswer(
        generation_key=PRODUCT_LIST_GENERATION_KEY, key=f"orders:products:{digest}", timeout=PRODUCT_LIST_TIMEOUT
    )


def order_detail_answer(*, order_id: int) -> CachedAnswer:
    return CachedAnswer(
        generation_key=_order_generation_key(order_id), key=f"orders:order:{order_id}", timeout=ORDER_DETAIL_TIMEOUT
    )


def product_list_invalidate() -> None:
    """Outdate every cached product list once the current transaction commits."""
    transaction.on_commit(partial(_bump, PRODUCT_LIST_GENERATION_KEY))


def order_detail_invalidate(*, order_id: int) -> None:
    """Outdate the cached detail of one order once the current transaction commits."""
    transaction.on_commit(partial(_bump, _order_generation_key(order_id)))
