"""deals: one data set per accepted upload, its raw rows and the aggregates the report reads."""

import uuid

from django.conf import settings
from django.db import models


class DealSet(models.Model):
    """One accepted (or being loaded) upload. Exactly one is current at a time."""

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    is_current = models.BooleanField(default=False)
    rows = models.PositiveIntegerField(default=0)
    original_name = models.CharField(max_length=255, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"], condition=models.Q(is_current=True), name="deals_one_current_dealset"
            )
        ]

    def __str__(self) -> str:
        return f"DealSet {self.pk} ({self.rows} rows{', current' if self.is_current else ''})"


class Deal(models.Model):
    """One row of an uploaded file. No foreign-key constraint and, on PostgreSQL, no
    index at all (migration 0002 drops the primary key's; ids stay unique by the
    identity column): COPY of a million rows must not pay a trigger or an index
    insert per row, and only the aggregation reads these rows, all at once. The
    table holds the rows of the upload being loaded or last accepted and nothing
    else (``deals.services`` empties it first), so a row names no data set."""

    customer = models.TextField()
    item = models.TextField()
    total = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()
    date = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.customer} bought {self.quantity} {self.item} for {self.total}"


class CustomerItem(models.Model):
    """What one customer spent on one item in one data set (filled by SQL at ingest).
    Removed with its data set by ``deals.services``, like ``Deal``."""

    pk = models.CompositePrimaryKey("dataset_id", "customer", "item")
    dataset = models.ForeignKey(
        DealSet, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    customer = models.TextField()
    item = models.TextField()
    spent_cents = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.customer}: {self.item}"


class CustomerTotal(models.Model):
    """What one customer spent in one data set (filled by SQL at ingest); the index
    serves the top-5 query straight from its first five entries."""

    pk = models.CompositePrimaryKey("dataset_id", "customer")
    dataset = models.ForeignKey(
        DealSet, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    customer = models.TextField()
    spent_cents = models.BigIntegerField(help_text="Sum of total, in cents: exact on every database.")

    class Meta:
        indexes = [
            models.Index(
                models.F("dataset"), models.F("spent_cents").desc(), models.F("customer"), name="deals_total_top"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.spent_cents} cents"
