"""Cache keys for the product list and order detail, with O(1) invalidation by generation.

Every cached answer's key carries a generation number. A change bumps the
generation (after its transaction commits), so old entries are never read
again and simply expire. A reader that loaded old rows while a write was
committing stores them under the old generation, which nobody reads: no stale
answer survives a commit. If a generation key is missing (evicted, memcached
restarted) a fresh, time-based one is created, never an old number reused.
"""

import hashlib
import time
from functools import partial

from django.core.cache import cache
from django.db import transaction

PRODUCT_LIST_TIMEOUT = 5 * 60
ORDER_DETAIL_TIMEOUT = 60
_GENERATION_TIMEOUT = 24 * 60 * 60
PRODUCT_LIST_GENERATION_KEY = "orders:products:gen"


def _order_generation_key(order_id: int) -> str:
    return f"orders:order:{order_id}:gen"


def _generation(key: str) -> int:
    value = cache.get(key)
    if value is None:
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


def product_list_key(*, host: str, query: list[tuple[str, str]]) -> str:
    """One key per generation and normalized query (parameter order does not matter)."""
    raw = "&".join(f"{k}={v}" for k, v in sorted(query))
    digest = hashlib.sha256(f"{host}|{raw}".encode()).hexdigest()[:32]
    return f"orders:products:{_generation(PRODUCT_LIST_GENERATION_KEY)}:{digest}"


def order_detail_key(*, order_id: int) -> str:
    return f"orders:order:{order_id}:{_generation(_order_generation_key(order_id))}"


def product_list_invalidate() -> None:
    """Forget every cached product list once the current transaction commits."""
    transaction.on_commit(partial(_bump, PRODUCT_LIST_GENERATION_KEY))


def order_detail_invalidate(*, order_id: int) -> None:
    """Forget the cached detail of one order once the current transaction commits."""
    transaction.on_commit(partial(_bump, _order_generation_key(order_id)))
