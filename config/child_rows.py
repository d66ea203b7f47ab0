"""A row's children read in the row's own query, as a list of dicts.

An order answers with its lines and shipping attempts, a check with its findings.
Read as separate queries, a page of 20 orders costs three round trips to the
database and three ORM queries built, compiled and read. ``child_rows`` makes it
one: the page's query carries, for each row, a correlated subquery that folds the
row's children into one JSON array (``JSONB_AGG(JSONB_BUILD_OBJECT(...))`` on
PostgreSQL, ``JSON_GROUP_ARRAY(JSON_OBJECT(...))`` on SQLite; Django's own
``JSONObject`` writes the objects). The annotation reads back as the rows a
``values()`` query of the children would give: each field in its Python type
(its model field's ``to_python``: ``Decimal``, aware ``datetime``, ``bool``), in
``order_by`` order, ``[]`` for a row without children.

    Order.objects.annotate(item_list=child_rows(OrderItem, "order", ("product_name", "quantity"), order_by=("id",)))
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.db import models
from django.db.models import Aggregate, OuterRef, Subquery
from django.db.models.functions import JSONObject

# The JSON of these fields reads back as what their model field holds; the other
# supported fields need their model field's ``to_python`` (Decimal, datetime, bool).
_AS_JSON = (models.CharField, models.TextField, models.IntegerField, models.AutoField, models.ForeignKey)
_CONVERTED = (models.DecimalField, models.DateTimeField, models.BooleanField)


class _JSONArray(Aggregate):
    """The aggregated values as one JSON array (in no particular order)."""

    function = "JSONB_AGG"
    output_field = models.JSONField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra_context)


class _ChildRowsField(models.Field):
    """Reads ``_JSONArray``'s text back as the children's rows."""

    def __init__(self, model: type[models.Model], names: Sequence[str], order_by: Sequence[str]) -> None:
        super().__init__()
        self.sort_key = itemgetter(*order_by)
        self.sort_only = tuple(name for name in order_by if name not in names)
        self.converters: list[tuple[str, Any]] = []
        for name in {*names, *order_by}:
            field = model._meta.get_field(name)
            if isinstance(field, _CONVERTED):
                self.converters.append((name, _converter(field)))
            elif not isinstance(field, _AS_JSON):
                raise TypeError(f"child_rows cannot read {type(field).__name__} {model.__name__}.{name} from JSON")

    def from_db_value(self, value: str | None, expression, connection) -> list[dict[str, Any]]:
        if value is None:  # no children: the subquery has no group, so no row
            return []
        rows = json.loads(value, parse_float=Decimal)  # money keeps its digits, never a float
        for row in rows:
            for name, convert in self.converters:
                if row[name] is not None:
                    row[name] = convert(row[name])
        rows.sort(key=self.sort_key)
        for name in self.sort_only:
            for row in rows:
                del row[name]
        return rows


def _converter(field: models.Field):
    if isinstance(field, models.DateTimeField):
        return _aware_datetime
    return field.to_python


def _aware_datetime(text: str) -> datetime:
    """PostgreSQL writes a timestamp with its offset; SQLite stores it naive, in UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def child_rows(
    model: type[models.Model], link: str, fields: Sequence[str], *, order_by: Sequence[str] = ("pk",)
) -> Subquery:
    """An annotation: the rows of ``model`` whose foreign key ``link`` points at the
    annotated row, as dicts of ``fields`` (and of the ``order_by`` fields), sorted by
    ``order_by`` (field names; ``pk`` reads as ``id``)."""
    order_by = tuple(model._meta.pk.name if name == "pk" else name for name in order_by)
    names = (*fields, *(name for name in order_by if name not in fields))
    rows = (
        model._default_manager.filter(**{link: OuterRef("pk")})
        .order_by()
        .values(link)
        .annotate(rows=_JSONArray(JSONObject(**{name: name for name in names})))
        .values("rows")
    )
    return Subquery(rows, output_field=_ChildRowsField(model, fields, order_by))
