"""Reads of deals: the top-5 customers report of the current data set, cached."""

import json
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, Window
from django.db.models.functions import Collate

from config.cached_get import json_bytes
from deals.models import CustomerItem, CustomerTotal, DealSet

REPORT_SIZE = 5


def dealset_current() -> DealSet | None:
    return DealSet.objects.filter(is_current=True).only("pk", "token").first()


def _money(cents: int) -> int | float:
    """A JSON number: an integer when whole, else the two-decimal value."""
    whole, rest = divmod(cents, 100)
    return whole if rest == 0 else float(Decimal(cents).scaleb(-2))


def _report_build(dataset_id: int) -> list[dict]:
    """Top customers by spent money (ties by username in code point order), and for
    each the items that at least one other of them also bought. The database does
    the work on the small tables filled at ingest; Python only sorts the names."""
    by_name = Collate("customer", "C") if connection.vendor == "postgresql" else "customer"
    top = list(
        CustomerTotal.objects.filter(dataset_id=dataset_id)
        .order_by("-spent_cents", by_name)
        .values_list("customer", "spent_cents")[:REPORT_SIZE]
    )
    names = [customer for customer, _ in top]
    # One pass over the five customers' (customer, item) pairs, counting each item's
    # buyers among them with a window function.
    shared = (
        CustomerItem.objects.filter(dataset_id=dataset_id, customer__in=names)
        .annotate(buyers=Window(Count("customer"), partition_by=[F("item")]))
        .filter(buyers__gte=2)
        .values_list("customer", "item")
    )
    gems: dict[str, list[str]] = {name: [] for name in names}
    for customer, item in shared:
        gems[customer].append(item)
    return [
        {"username": customer, "spent_money": _money(cents), "gems": sorted(gems[customer])} for customer, cents in top
    ]


def report_cache_key(token) -> str:
    # The entry is the answer's JSON bytes ("v2"; v1 entries held the report's data).
    return f"deals:report:v2:{token}"


def deals_answer_cached() -> bytes | None:
    """The JSON answer of ``GET /api/deals/`` if the current data set's report is cached."""
    current = dealset_current()
    return None if current is None else cache.get(report_cache_key(current.token))


def deals_answer() -> bytes:
    """The JSON answer ``{"response": [...]}`` of the current data set. Cached under the
    data set's token (a UUID no other data set ever has, even after the database is
    recreated), so an accepted upload (a new current data set) is a new key: never
    stale, and nothing to delete, hence no race between an upload and a reader
    filling the cache."""
    current = dealset_current()
    if current is None:
        return json_bytes({"response": []})
    key = report_cache_key(current.token)
    answer = cache.get(key)
    if answer is None:
        answer = json_bytes({"response": _report_build(current.pk)})
        cache.set(key, answer, settings.DEALS_REPORT_CACHE_SECONDS)
    return answer


def deals_report() -> list[dict]:
    """The report of the current data set, as the API sends it."""
    return json.loads(deals_answer())["response"]
