"""Reads of deals: the top-5 customers report of the current data set."""

from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, Window
from django.db.models.functions import Collate

from config.cache import Slot
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


# The report's cache name (``config.cache``): an accepted upload outdates it.
REPORT_CACHE = "deals:report"


def deals_report_slot() -> Slot:
    return Slot(REPORT_CACHE)


def deals_report() -> list[dict]:
    """The report of the current data set, as the API sends it (empty with none).

    Built by several statements, each with its own snapshot: an upload committing
    in between removes the aggregates being read. They are removed only in the
    commit that takes the current mark away, so a data set still current after the
    build was whole during it; otherwise the report is built again."""
    while True:
        current = dealset_current()
        if current is None:
            return []
        report = _report_build(current.pk)
        if DealSet.objects.filter(pk=current.pk, is_current=True).exists():
            return report
