"""Reads of deals: the top-5 customers report of the current data set, cached."""

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, Window
from django.db.models.functions import Collate

from config.cached_get import json_bytes
from deals.models import CustomerItem, CustomerTotal, DealSet

# The report is the top 5 customers (SPEC); ingest keeps the items of these five only.
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


# Which data set is current (its token), and the answer of the one it was built for.
CURRENT_KEY = "deals:current"
# The answer's JSON bytes with its data set's token ("v2"; v1 entries held the report's data).
ANSWER_KEY = "deals:answer:v2"


class DealsAnswer:
    """The cached answer of ``GET /api/deals/``, served only when it was built for the
    data set the cache says is current; both are read in one round trip."""

    def keys(self) -> list[str]:
        return [CURRENT_KEY, ANSWER_KEY]

    def get(self, values: dict[str, Any] | None = None) -> bytes | None:
        values = cache.get_many(self.keys()) if values is None else values
        current, entry = values.get(CURRENT_KEY), values.get(ANSWER_KEY)
        return entry[1] if current is not None and entry is not None and entry[0] == current else None


def current_dataset_forget() -> None:
    cache.delete(CURRENT_KEY)


def current_dataset_announce(token) -> None:
    """Tell readers which data set is current: called once its upload has committed.
    A failed write deletes the key (Django's memcached ``set``), so readers ask the
    database; the short timeout bounds what a write lost to a frozen cache can do."""
    cache.set(CURRENT_KEY, str(token), settings.DEALS_CURRENT_CACHE_SECONDS)


def deals_answer() -> tuple[bytes, bool]:
    """The JSON answer ``{"response": [...]}`` of the current data set, built and cached
    on a miss. The entry carries its data set's token (a UUID no other data set ever
    has, even after the database is recreated) and is served only while that data
    set is current, so an accepted upload makes the next read build the new answer.
    Returns the answer and whether it came from the cache."""
    current = dealset_current()
    if current is None:
        return json_bytes({"response": []}), False
    token = str(current.token)
    values = cache.get_many([CURRENT_KEY, ANSWER_KEY])
    built_for, answer = values.get(ANSWER_KEY) or (None, b"")
    hit = built_for == token
    if not hit:
        answer = json_bytes({"response": _report_build(current.pk)})
        cache.set(ANSWER_KEY, (token, answer), settings.DEALS_REPORT_CACHE_SECONDS)
    if CURRENT_KEY not in values:
        # add, not set: a reader that saw an older data set must not overwrite the
        # token an upload has announced since.
        cache.add(CURRENT_KEY, token, settings.DEALS_CURRENT_CACHE_SECONDS)
    return answer, hit


def deals_report() -> list[dict]:
    """The report of the current data set, as the API sends it."""
    return json.loads(deals_answer()[0])["response"]
