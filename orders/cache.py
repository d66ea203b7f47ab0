"""Cache of the product list and order detail, with O(1) invalidation by generation
(``config.cache``: a change outdates every answer built before it commits)."""

import hashlib
from collections.abc import Iterable

from config.cache import CachedAnswer, generation_bump_on_commit

PRODUCT_LIST_TIMEOUT = 5 * 60
ORDER_DETAIL_TIMEOUT = 60
PRODUCT_LIST_GENERATION_KEY = "orders:products:gen"


def _order_generation_key(order_id: int) -> str:
    return f"orders:order:{order_id}:gen"


def product_list_answer(*, host: str, query: Iterable[tuple[str, object]]) -> CachedAnswer:
    """One slot per normalized query (parameter order does not matter), shared by all users."""
    raw = "&".join(f"{k}={v}" for k, v in sorted(query))
    digest = hashlib.sha256(f"{host}|{raw}".encode()).hexdigest()[:32]
    # The entry is the page's JSON bytes ("v2"; v1 entries held the page's data).
    return CachedAnswer(
        generation_key=PRODUCT_LIST_GENERATION_KEY, key=f"orders:products:v2:{digest}", timeout=PRODUCT_LIST_TIMEOUT
    )


def order_detail_answer(*, order_id: int) -> CachedAnswer:
    return CachedAnswer(
        generation_key=_order_generation_key(order_id), key=f"orders:order:{order_id}", timeout=ORDER_DETAIL_TIMEOUT
    )


def product_list_invalidate() -> None:
    """Outdate every cached product list once the current transaction commits."""
    generation_bump_on_commit(PRODUCT_LIST_GENERATION_KEY)


def order_detail_invalidate(*, order_id: int) -> None:
    """Outdate the cached detail of one order once the current transaction commits."""
    generation_bump_on_commit(_order_generation_key(order_id))
