"""Writes of deals: load an uploaded file as a new data set and make it current."""

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import BinaryIO

from django.db import connection, transaction
from psycopg.copy import QueuedLibpqWriter

from accounts.models import User
from config.cache import cache_invalidate
from deals.models import CustomerItem, CustomerTotal, Deal, DealSet
from deals.parsing import DealRow, count_deal_rows, iter_copy_csv, iter_deal_rows
from deals.selectors import REPORT_CACHE, REPORT_SIZE, deals_report
from webhooks.services import event_publish

logger = logging.getLogger(__name__)

# Table names below come from the models, never from input: the f-strings in SQL are safe.
SQLITE_BATCH_ROWS = 5_000
# One number for every process that uploads (pg_advisory_xact_lock): uploads take turns.
UPLOAD_LOCK_KEY = 0x6465616C73  # "deals"

_DEAL = Deal._meta.db_table
_ITEM = CustomerItem._meta.db_table
_TOTAL = CustomerTotal._meta.db_table


def deals_upload(*, file: BinaryIO, user: User | None = None, name: str = "") -> DealSet:
    """Load ``file`` as the new current data set, in one transaction.

    Invariants: uploads take turns (an advisory lock on PostgreSQL, BEGIN IMMEDIATE on
    SQLite, both held to commit), so two at once end with the later one complete
    and nothing of the earlier. A rejected file (``DealsFileError`` once the whole
    file is checked; nothing is written after its first fault) rolls everything
    back: the previous data set is untouched. An accepted one commits its rows,
    its aggregates, the removal of every other data set and the current mark
    together, so a reader sees the old report or the new one, never a mix
    (readers use only the aggregate tables and the current mark)."""
    postgres = connection.vendor == "postgresql"
    with transaction.atomic():
        with connection.cursor() as cursor:
            if postgres:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [UPLOAD_LOCK_KEY])
            # The raw rows of the previous data set go first: emptying the table is
            # instant (TRUNCATE is transactional in PostgreSQL; SQLite empties a table
            # without a WHERE at once), and a rollback brings them back.
            cursor.execute(f'TRUNCATE "{_DEAL}"' if postgres else f'DELETE FROM "{_DEAL}"')  # noqa: S608
        dealset = DealSet.objects.create(uploaded_by=user, original_name=name[:255])
        count = _copy_rows(file) if postgres else _insert_rows(iter_deal_rows(file))
        _aggregate(dealset.pk)
        _make_current(dealset, rows=count)
        if user is not None:
            # The new report, read inside this transaction: the data set the event announces.
            event_publish(
                user_id=user.pk,
                type="deals.dataset.replaced",
                data=lambda: {"rows": count, "response": deals_report()},
            )
        cache_invalidate(REPORT_CACHE)
    logger.info("deals: data set %s is current (%s rows from %r)", dealset.pk, count, name)
    return dealset


def deals_check(*, file: BinaryIO) -> int:
    """Validate ``file`` exactly as ``deals_upload`` would and return its row count,
    or raise ``DealsFileError`` with its faults. Nothing is read from or written to
    the database, so the current data set and its cached report stay as they are."""
    return count_deal_rows(file)


def _copy_rows(file: BinaryIO) -> int:
    """COPY the validated CSV into the raw table, in the file's column order.

    The table is empty and locked (TRUNCATE above) and has no index to maintain
    (migration 0002), as PostgreSQL's "Populating a Database" advises. Its rows name
    no data set (it only ever holds this upload), so quote-free blocks go to
    PostgreSQL as they are, with no per-row Python work. A ``DealsFileError`` raised
    by the validating iterator aborts the COPY (psycopg sends CopyFail) and, with
    it, the transaction."""
    names, chunks = iter_copy_csv(file)
    columns = ", ".join(f'"{name}"' for name in names)  # validated: exactly the five column names
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, under Django's wrapper
        # The queued writer sends from a thread: the socket I/O overlaps the parsing.
        sql = f'COPY "{_DEAL}" ({columns}) FROM STDIN (FORMAT csv)'
        # Django's own cursor wrapper is bypassed here, so let it translate database
        # errors (a refused value becomes django.db.DataError, which the view answers).
        with connection.wrap_database_errors, raw.copy(sql, writer=QueuedLibpqWriter(raw)) as copy:
            for text, rows in chunks:
                copy.write(text)
                count += rows
    return count


def _insert_rows(rows: Iterable[DealRow]) -> int:
    """SQLite: parameterised inserts in batches, with dates stored as Django stores them."""
    adapt = connection.ops.adapt_datetimefield_value
    sql = f'INSERT INTO "{_DEAL}" (customer, item, total, quantity, date) VALUES (?,?,?,?,?)'  # noqa: S608
    count = 0
    batch: list[tuple] = []
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for _line, customer, item, total, quantity, date in rows:
            when = datetime.fromisoformat(date)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            batch.append((customer, item, total, int(quantity), adapt(when)))
            if len(batch) >= SQLITE_BATCH_ROWS:
                raw.executemany(sql, batch)
                count += len(batch)
                batch.clear()
        if batch:
            raw.executemany(sql, batch)
            count += len(batch)
    return count


def _aggregate(dataset_id: int) -> None:
    """Sum the raw rows per customer in exact cents, then the purchases per item of
    the five customers the report names, so a report reads a few index entries
    instead of a million rows. Ties for fifth place are broken by username in code
    point order, as the report does."""
    if connection.vendor == "postgresql":
        _aggregate_postgresql(dataset_id)
        return
    # SQLite: per-row rounding of its floating point values to whole cents before adding.
    sum_cents = "SUM(CAST(ROUND(total * 100) AS INTEGER))"
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{_TOTAL}" (dataset_id, customer, spent_cents) '  # noqa: S608
            f'SELECT %s, customer, {sum_cents} FROM "{_DEAL}" GROUP BY customer',
            [dataset_id],
        )
        cursor.execute(
            f'INSERT INTO "{_ITEM}" (dataset_id, customer, item, spent_cents) '  # noqa: S608
            f'SELECT %s, customer, item, {sum_cents} FROM "{_DEAL}" '
            "WHERE customer IN ("
            f'  SELECT customer FROM "{_TOTAL}" WHERE dataset_id = %s '
            f"  ORDER BY spent_cents DESC, customer LIMIT {REPORT_SIZE}"
            ") GROUP BY customer, item",
            [dataset_id, dataset_id],
        )


def _aggregate_postgresql(dataset_id: int) -> None:
    """The two sums as plain SELECTs, which PostgreSQL runs with parallel workers
    (it plans no parallel scan for a query that writes, such as INSERT ... SELECT),
    written back with COPY: 0.27 + 0.12 s at 1M rows instead of 0.43 + 0.22 s.
    Exact: numeric sums, multiplied to cents once per group."""
    with connection.cursor() as cursor:
        # The raw table was filled in this transaction and has no statistics: the
        # planner guesses ~2,000 rows and sorts the million on disk to group them
        # (0.69 s at 1M rows) instead of hashing the few thousand customers.
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(
            f'SELECT customer, (SUM(total) * 100)::bigint FROM "{_DEAL}" GROUP BY customer'  # noqa: S608
        )
        totals = cursor.fetchall()
        # Python compares code points, as COLLATE "C" does for UTF-8 text.
        top = [customer for customer, _ in sorted(totals, key=lambda row: (-row[1], row[0]))[:REPORT_SIZE]]
        cursor.execute(
            f'SELECT customer, item, (SUM(total) * 100)::bigint FROM "{_DEAL}" '  # noqa: S608
            "WHERE customer = ANY(%s) GROUP BY customer, item",
            [top],
        )
        items = cursor.fetchall()
        cursor.execute("SET LOCAL enable_sort = on")
        raw = cursor.cursor
        with connection.wrap_database_errors:
            with raw.copy(f'COPY "{_TOTAL}" (dataset_id, customer, spent_cents) FROM STDIN') as copy:
                for customer, cents in totals:
                    copy.write_row((dataset_id, customer, cents))
            with raw.copy(f'COPY "{_ITEM}" (dataset_id, customer, item, spent_cents) FROM STDIN') as copy:
                for customer, item, cents in items:
                    copy.write_row((dataset_id, customer, item, cents))


def _make_current(dealset: DealSet, *, rows: int) -> None:
    """Remove every other data set's aggregates and mark this one current."""
    with connection.cursor() as cursor:
        for table in (_ITEM, _TOTAL):
            cursor.execute(f'DELETE FROM "{table}" WHERE dataset_id <> %s', [dealset.pk])  # noqa: S608
    DealSet.objects.exclude(pk=dealset.pk).delete()
    dealset.is_current = True
    dealset.rows = rows
    dealset.save(update_fields=["is_current", "rows"])
