"""The cache slots of the product list and the order detail (``config.cache``: a
change outdates every answer built before it commits)."""

import hashlib

from rest_framework.request import Request

from config.cache import Slot, cache_invalidate

PRODUCT_LIST = "orders:products"
# How long an answer is kept when nothing outdates it.
PRODUCT_LIST_SECONDS = 5 * 60
ORDER_DETAIL_SECONDS = 60


def _order(order_id: int) -> str:
    return f"orders:order:{order_id}"


def product_list_slot(request: Request) -> Slot:
    """One slot per normalized query (parameter order does not matter) and host (the
    page's links name it), shared by all users."""
    raw = "&".join(f"{k}={v}" for k, v in sorted(request.query_params.items()))
    digest = hashlib.sha256(f"{request.build_absolute_uri('/')}|{raw}".encode()).hexdigest()[:32]
    return Slot(PRODUCT_LIST, digest, timeout=PRODUCT_LIST_SECONDS)


def order_detail_slot(order_id: int) -> Slot:
    return Slot(_order(order_id), timeout=ORDER_DETAIL_SECONDS)


def product_list_invalidate() -> None:
    """Outdate every cached product list once the current transaction commits."""
    cache_invalidate(PRODUCT_LIST)


def order_detail_invalidate(*, order_id: int) -> None:
    """Outdate the cached detail of one order once the current transaction commits."""
    cache_invalidate(_order(order_id))
