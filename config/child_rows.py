"""A row's children read in the row's own query, as a list of dicts.

An order answers with its lines and shipping attempts, a check with its findings.
Read as separate queries, a page of 20 orders costs three round trips to the
database and three ORM queries built, compiled and read. ``child_rows`` makes it
one: the page's query carries, for each row, a correlated subquery that folds the
row's children into one JSON array:

    (SELECT JSON_AGG(JSON_BUILD_OBJECT('quantity', child."quantity", ...))::text
       FROM "orders_orderitem" child WHERE child."order_id" = "orders_order"."id")

(``JSON_GROUP_ARRAY(JSON_OBJECT(...))`` on SQLite). The statement is written from
the child model's metadata when the page's query is compiled: an ORM subquery
(``Subquery`` of an aggregate over ``JSONObject``) builds the same SQL, but compiling
it on every request costs more than the round trips it saves. The annotation reads
back as the rows a ``values()`` query of the children would give: each field in its
Python type (its model field's ``to_python``: ``Decimal``, aware ``datetime``,
``bool``), in ``order_by`` order, ``[]`` for a row without children.

    Order.objects.annotate(item_list=child_rows(OrderItem, "order", ("product_name", "quantity")))
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any, cast

from django.db import NotSupportedError, models
from django.db.models import F, Func

# The JSON of these fields reads back as what their model field holds; the other
# supported fields need their model field's ``to_python`` (Decimal, datetime, bool).
_AS_JSON = (models.CharField, models.TextField, models.IntegerField, models.ForeignKey)
_CONVERTED = (models.DecimalField, models.DateTimeField, models.BooleanField)
# Money keeps its digits, never through a float. One decoder: json.loads with an
# option builds a new one per call.
_DECODER = json.JSONDecoder(parse_float=Decimal)


class _ChildRowsField(models.Field):
    """Reads the subquery's JSON text back as the children's rows."""

    def __init__(self, converters: list[tuple[str, Any]], order_by: Sequence[str], sort_only: Sequence[str]) -> None:
        super().__init__()
        self.converters = converters
        self.sort_key = itemgetter(*order_by)
        self.sort_only = tuple(sort_only)

    def from_db_value(self, value: str | None, expression, connection) -> list[dict[str, Any]]:
        if value is None:  # no children (PostgreSQL's aggregate of no rows is NULL)
            return []
        rows = _DECODER.decode(value)
        for row in rows:
            for name, convert in self.converters:
                if row[name] is not None:
                    row[name] = convert(row[name])
        rows.sort(key=self.sort_key)
        for name in self.sort_only:
            for row in rows:
                del row[name]
        return rows


def _aware_datetime(text: str) -> datetime:
    """PostgreSQL writes a timestamp with its offset; SQLite stores it naive, in UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class _ChildRows(Func):
    """The correlated subquery of the module's docstring; its one source is the parent's key."""

    def __init__(self, table: str, link_column: str, columns: list[tuple[str, str]], output_field: _ChildRowsField):
        super().__init__(F("pk"), output_field=output_field)
        self.table = table
        self.link_column = link_column
        self.columns = columns  # (JSON key, column)

    def _subquery(self, compiler, connection, *, array: str, obj: str, suffix: str = ""):
        parent_key, params = compiler.compile(self.source_expressions[0])
        quote = connection.ops.quote_name
        pairs = ", ".join(f"'{name}', child.{quote(column)}" for name, column in self.columns)
        # Names come from the model's metadata and the parent's key is compiled by
        # Django: nothing here comes from a request.
        table, link = quote(self.table), quote(self.link_column)
        sql = f"(SELECT {array}({obj}({pairs})){suffix} FROM {table} child WHERE child.{link} = {parent_key})"  # noqa: S608
        return sql, params

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError(f"child_rows has no SQL for {connection.vendor}")

    def as_postgresql(self, compiler, connection, **extra_context):
        # json, not jsonb: cheaper to build and keeps the keys in order; as text, so
        # that psycopg hands it over unparsed and money is read as Decimal, not float.
        return self._subquery(compiler, connection, array="JSON_AGG", obj="JSON_BUILD_OBJECT", suffix="::text")

    def as_sqlite(self, compiler, connection, **extra_context):
        return self._subquery(compiler, connection, array="JSON_GROUP_ARRAY", obj="JSON_OBJECT")


def _column_field(model: type[models.Model], name: str) -> models.Field:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or field.column is None:
        raise TypeError(f"child_rows: {model.__name__}.{name} is not a column")
    return field


def child_rows(
    model: type[models.Model], link: str, fields: Sequence[str], *, order_by: Sequence[str] = ("pk",)
) -> Func:
    """An annotation: the rows of ``model`` whose foreign key ``link`` points at the
    annotated row, as dicts of ``fields``, sorted by ``order_by`` (field names; ``pk``
    reads as the primary key's name)."""
    order_by = tuple(model._meta.pk.name if name == "pk" else name for name in order_by)
    sort_only = [name for name in order_by if name not in fields]
    columns: list[tuple[str, str]] = []
    converters: list[tuple[str, Any]] = []
    # Each key is a field's name (get_field refuses anything else), so a Python
    # identifier, written into the SQL as a literal.
    for name in (*fields, *sort_only):
        field = _column_field(model, name)
        columns.append((name, cast(str, field.column)))
        if isinstance(field, models.DateTimeField):
            converters.append((name, _aware_datetime))
        elif isinstance(field, _CONVERTED):
            converters.append((name, field.to_python))
        elif not isinstance(field, _AS_JSON):
            raise TypeError(f"child_rows cannot read {type(field).__name__} {model.__name__}.{name} from JSON")
    link_column = cast(str, _column_field(model, link).column)
    return _ChildRows(model._meta.db_table, link_column, columns, _ChildRowsField(converters, order_by, sort_only))
