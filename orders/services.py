"""Writes of the shop: products, orders and their status, receipts, emails and shipping calls."""

import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any, cast

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import BigIntegerField, Case, Exists, F, OuterRef, ProtectedError, Q, Value, When
from django.utils import timezone

from accounts.models import User
from config.errors import PermissionDenied
from orders.cache import order_detail_invalidate, product_list_invalidate
from orders.errors import InsufficientStock, InvalidTransition, ProductInUse, ShippingApiError
from orders.models import (
    Order,
    OrderEmail,
    OrderEvent,
    OrderEventType,
    OrderItem,
    OrderStatus,
    Product,
    ShippingAttempt,
    ShippingStatus,
    product_qs_for_update,
)
from orders.receipts import receipt_pdf_render
from orders.tasks import order_notify_shipping_task, order_receipt_task
from webhooks.services import event_publish

logger = logging.getLogger(__name__)

# Where an admin may move an order from each status.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    OrderStatus.PENDING: (OrderStatus.PROCESSING, OrderStatus.CANCELLED),
    OrderStatus.PROCESSING: (OrderStatus.SHIPPED, OrderStatus.CANCELLED),
    OrderStatus.SHIPPED: (OrderStatus.DELIVERED,),
    OrderStatus.DELIVERED: (),
    OrderStatus.CANCELLED: (),
}


@dataclass(frozen=True)
class OrderLineIn:
    product_id: int
    quantity: int


# --- Products -----------------------------------------------------------------


def product_create(**fields) -> Product:
    product = Product(**fields)
    product.full_clean()
    product.save()
    return product


def product_update(*, product: Product, data: dict) -> Product:
    for field, value in data.items():
        setattr(product, field, value)
    product.full_clean()
    product.save()
    return product


def product_delete(*, product: Product) -> None:
    """Refuse to delete a product that orders point to: their history must keep it.

    An order committed between the check and the delete still fails the
    delete: the foreign key under PROTECT, which PostgreSQL checks at commit.
    """
    if OrderItem.objects.filter(product=product).exists():
        raise ProductInUse(_product_in_use_message(product))
    try:
        with transaction.atomic():
            product.delete()
    except (ProtectedError, IntegrityError) as exc:
        raise ProductInUse(_product_in_use_message(product)) from exc


def _product_in_use_message(product: Product) -> str:
    return (
        f'Product {product.pk} ("{product.name}") appears in orders and cannot be deleted; '
        "set its stock to 0 to stop selling it."
    )


# --- Orders -------------------------------------------------------------------


def order_lines_merge(lines: list[OrderLineIn]) -> "OrderedDict[int, int]":
    """Quantities per product id, duplicate lines added up, in first-seen order."""
    wanted: OrderedDict[int, int] = OrderedDict()
    for line in lines:
        wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity
    return wanted


def minimum_total_message(total: Decimal) -> str:
    return f"The order total {total:.2f} is below the minimum order total of {settings.ORDERS_MIN_TOTAL:.2f}."


@transaction.atomic
def order_create(*, user: User, lines: list[OrderLineIn]) -> Order:
    """Lock the products in pk order (so concurrent orders cannot deadlock),
    check stock, then decrement it in the same transaction: two buyers of the
    last item queue on the row lock and the second one sees stock 0.

    Names, prices and stock are read by the locking query itself, so the
    locked price is the one the lines and the total record. Then the order,
    its lines and the stock decrements are written (``_order_write``).
    """
    wanted = order_lines_merge(lines)
    if not wanted:
        raise ValidationError({"items": ["An order needs at least one item."]})
    products = {
        product.pk: product
        for product in product_qs_for_update().filter(pk__in=list(wanted)).only("pk", "name", "price", "stock")
    }
    _check_exist(wanted, products)
    total = _total_checked(wanted, products)
    for pk, quantity in wanted.items():
        product = products[pk]
        if product.stock < quantity:
            raise InsufficientStock(
                f'Not enough stock for "{product.name}" (product {pk}): '
                f"{quantity} requested, {product.stock} available."
            )
    order = _order_write(user=user, total=total, wanted=wanted, products=products)
    # The webhook rides on the timeline's "created" row, in its transaction.
    event_publish(user_id=user.pk, type="order.created", data=partial(_order_webhook_data, order.pk))
    product_list_invalidate()
    order_receipt_task.delay_on_commit(order.pk)
    return order


def _order_write(*, user: User, total: Decimal, wanted: "OrderedDict[int, int]", products: dict[int, Product]) -> Order:
    """Insert the order, its lines and its ``created`` event, and take the quantities off the (locked) stock.

    Two implementations that write the same rows (``test_order_write_paths_write_the_same_rows``):
    the ORM's four statements (``_order_write_orm``), and on PostgreSQL one
    statement with the three INSERTs and the UPDATE as data-modifying CTEs, so
    the row locks are held for one round trip instead of three and the model
    machinery of ``save()``/``bulk_create()`` is skipped (half the client CPU
    of an order; figures in docs/benchmarks.md). The order's values are the
    model's own (each field's ``pre_save`` and ``get_db_prep_save``, as Django's
    INSERT takes them: defaults, ``auto_now`` times). Like ``bulk_create`` it
    sends no model signals: a new order has nothing cached, and the caller
    invalidates the product lists.
    """
    if connection.vendor != "postgresql":
        return _order_write_orm(user=user, total=total, wanted=wanted, products=products)
    order = Order(user=user, total_price=total)
    fields = [f for f in Order._meta.local_concrete_fields if not f.primary_key]
    order_params = [f.get_db_prep_save(f.pre_save(order, add=True), connection) for f in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(cast(str, f.column)) for f in fields)  # concrete fields have one
    order_sql = (  # names from the model, values only through placeholders
        f"INSERT INTO {quote(Order._meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(cast(str, Order._meta.pk.column))}"
    )
    item_rows = ", ".join(["(%s::bigint, %s::text, %s::integer, %s::numeric)"] * len(wanted))
    item_params = [v for pk, quantity in wanted.items() for v in (pk, products[pk].name, quantity, products[pk].price)]
    cases = " ".join(["WHEN %s THEN %s"] * len(wanted))
    stock_params = [v for pk, quantity in wanted.items() for v in (pk, quantity)]
    event_params: list[Any] = [
        OrderEventType.CREATED.value,
        order.created_at,  # set by its pre_save above (auto_now_add)
        json.dumps(_created_event_data(total=total, wanted=wanted, products=products), cls=DjangoJSONEncoder),
    ]
    with connection.cursor() as cursor:
        cursor.execute(  # only placeholders carry values
            f"WITH new_order AS ({order_sql}), "  # noqa: S608
            f'new_items AS (INSERT INTO "{OrderItem._meta.db_table}" '
            '("order_id", "product_id", "product_name", "quantity", "price_at_purchase") '
            f"SELECT new_order.id, line.* FROM new_order, (VALUES {item_rows}) AS line), "
            f'stock AS (UPDATE "{Product._meta.db_table}" SET "stock" = "stock" - (CASE "id" {cases} END) '
            f'WHERE "id" IN ({", ".join(["%s"] * len(wanted))})), '
            f'new_event AS (INSERT INTO "{OrderEvent._meta.db_table}" ("order_id", "type", "created_at", "data") '
            "SELECT new_order.id, %s, %s, %s::jsonb FROM new_order) "
            "SELECT id FROM new_order",
            [*order_params, *item_params, *stock_params, *wanted, *event_params],
        )
        (order.pk,) = cursor.fetchone()
    order._state.adding, order._state.db = False, connection.alias
    return order


def _order_write_orm(
    *, user: User, total: Decimal, wanted: "OrderedDict[int, int]", products: dict[int, Product]
) -> Order:
    order = Order.objects.create(user=user, total_price=total)
    OrderItem.objects.bulk_create(
        OrderItem(
            order=order,
            product_id=pk,
            product_name=products[pk].name,
            quantity=quantity,
            price_at_purchase=products[pk].price,
        )
        for pk, quantity in wanted.items()
    )
    _stock_add({pk: -quantity for pk, quantity in wanted.items()}, invalidate=False)
    OrderEvent.objects.create(
        order=order,
        type=OrderEventType.CREATED,
        created_at=order.created_at,
        data=_created_event_data(total=total, wanted=wanted, products=products),
    )
    return order


def _created_event_data(
    *, total: Decimal, wanted: "OrderedDict[int, int]", products: dict[int, Product]
) -> dict[str, Any]:
    """What the order was placed with: the total and the lines, amounts as strings like the API's."""
    return {
        "total_price": str(total),
        "items": [
            {
                "product": pk,
                "product_name": products[pk].name,
                "quantity": quantity,
                "price_at_purchase": str(products[pk].price),
            }
            for pk, quantity in wanted.items()
        ],
    }


def _order_webhook_data(order_id: int, **extra: Any) -> dict[str, Any]:
    """The order as the API renders it, for a webhook (called only when an endpoint listens)."""
    from orders.api.serializers import OrderOutputSerializer  # the API module imports this one
    from orders.selectors import order_get

    return {**OrderOutputSerializer(order_get(order_id=order_id)).data, **extra}


def _event(order_id: int, type: str, data: dict[str, Any]) -> None:
    """Record one event of an order's timeline; called inside the transaction of the change."""
    OrderEvent.objects.create(order_id=order_id, type=type, data=data)


def _stock_add(deltas: dict[int, int], *, invalidate: bool = True) -> None:
    """Add a quantity to the stock of each product in one UPDATE (rows already locked).

    ``QuerySet.update`` sends no signals, so the product lists are invalidated here.
    """
    change = Case(
        *(When(pk=pk, then=Value(delta)) for pk, delta in deltas.items()),
        default=Value(0),
        output_field=BigIntegerField(),
    )
    Product.objects.filter(pk__in=list(deltas)).update(stock=F("stock") + change)
    if invalidate:
        product_list_invalidate()


def _check_exist(wanted: "OrderedDict[int, int]", products: dict[int, Product]) -> None:
    missing = [pk for pk in wanted if pk not in products]
    if missing:
        raise ValidationError({"items": [f"Product {pk} does not exist." for pk in missing]})


def _total_checked(wanted: "OrderedDict[int, int]", products: dict[int, Product]) -> Decimal:
    total = sum((products[pk].price * quantity for pk, quantity in wanted.items()), Decimal("0.00"))
    if total < settings.ORDERS_MIN_TOTAL:
        raise ValidationError({"items": [minimum_total_message(total)]})
    return total


def _stock_return(*, order: Order) -> None:
    """Put the order's quantities back, products locked in pk order like order_create."""
    quantities = dict(order.items.values_list("product_id", "quantity"))
    list(product_qs_for_update().filter(pk__in=list(quantities)).values_list("pk"))  # lock, in pk order
    _stock_add(quantities)


@transaction.atomic
def order_status_change(*, order: Order, actor: User, status: str) -> Order:
    """Move an order along pending → processing → shipped → delivered, or cancel it.

    The order row is locked first, so two concurrent cancellations cannot both
    return the stock. An owner may only cancel a pending order; an admin may
    cancel a pending or processing one. Cancelling returns the stock in this
    same transaction; shipping queues the call to the shipping API after commit.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    current = order.status
    if not actor.is_staff:
        if status != OrderStatus.CANCELLED:
            raise PermissionDenied("You can only cancel your order; other status changes are made by the shop.")
        if current != OrderStatus.PENDING:
            raise PermissionDenied(f"Only a pending order can be cancelled by its owner; this order is {current}.")
    allowed = TRANSITIONS[current]
    if status not in allowed:
        options = ", ".join(allowed) if allowed else f"none, {current} is final"
        raise InvalidTransition(f"An order cannot move from {current} to {status}; allowed: {options}.")

    if status == OrderStatus.CANCELLED:
        _stock_return(order=order)
    order.status = status
    update_fields = ["status", "updated_at"]
    if status == OrderStatus.SHIPPED:
        order.shipping_status = ShippingStatus.PENDING
        order.shipping_updated_at = timezone.now()
        order.shipping_error = ""
        update_fields += ["shipping_status", "shipping_updated_at", "shipping_error"]
        order_notify_shipping_task.delay_on_commit(order.pk)
    order.save(update_fields=update_fields)
    _event(order.pk, OrderEventType.STATUS_CHANGED, {"from": current, "to": status, "by": actor.pk})
    event_publish(
        user_id=order.user_id,
        type="order.status_changed",
        data=partial(_order_webhook_data, order.pk, **{"from": current, "to": status}),
    )
    return order


# --- Receipt and confirmation email ----------------------------------------------


def order_receipt_generate(*, order_id: int) -> None:
    """Store the PDF receipt once, then send the confirmation email once.

    Idempotent: a redelivered or re-driven task finds the receipt stored (the
    conditional update lets only one writer set it) and the email marked sent.
    """
    order = Order.objects.select_related("user").filter(pk=order_id).first()
    if order is None:
        logger.warning("receipt: order %s no longer exists", order_id)
        return
    if not order.receipt:
        pdf = receipt_pdf_render(order=order)
        field = Order._meta.get_field("receipt")
        name = field.storage.save(field.generate_filename(order, f"receipt-{order.number}.pdf"), ContentFile(pdf))
        with transaction.atomic():
            claimed = Order.objects.filter(pk=order.pk, receipt="").update(
                receipt=name, receipt_generated_at=timezone.now()
            )
            if claimed:
                _event(order.pk, OrderEventType.RECEIPT_GENERATED, {})
        if claimed:
            order_detail_invalidate(order_id=order.pk)
            order.refresh_from_db(fields=["receipt", "receipt_generated_at"])
            logger.info("receipt: stored %s for order %s (%d bytes)", name, order.number, len(pdf))
        else:
            field.storage.delete(name)  # another worker stored it first
            order.refresh_from_db(fields=["receipt", "receipt_generated_at"])
    order_confirmation_send(order=order)


def order_confirmation_send(*, order: Order) -> OrderEmail:
    """Record the confirmation email, send it with the receipt attached, mark it sent."""
    items = list(order.items.all())
    lines = "\n".join(
        f"  {item.quantity} x {item.product_name} @ {item.price_at_purchase:.2f} = {item.line_total:.2f}"
        for item in items
    )
    email, _ = OrderEmail.objects.get_or_create(
        order=order,
        kind=OrderEmail.Kind.CONFIRMATION,
        defaults={
            "recipient": order.user.email,
            "subject": f"Your order {order.number}",
            "body": (
                f"Thank you for your order {order.number}.\n\n{lines}\n\n"
                f"Total: {order.total_price:.2f}\n\nYour receipt is attached."
            ),
        },
    )
    if email.sent_at is not None:
        return email
    message = EmailMessage(email.subject, email.body, settings.DEFAULT_FROM_EMAIL, [email.recipient])
    if order.receipt:
        with order.receipt.open("rb") as fh:
            message.attach(f"receipt-{order.number}.pdf", fh.read(), "application/pdf")
    message.send()  # an SMTP error propagates and the task retries
    with transaction.atomic():
        if OrderEmail.objects.filter(pk=email.pk, sent_at__isnull=True).update(sent_at=timezone.now()):
            _event(order.pk, OrderEventType.EMAIL_SENT, {"kind": email.kind, "recipient": email.recipient})
    order_detail_invalidate(order_id=order.pk)
    logger.info("email: confirmation of %s sent to %s", order.number, email.recipient)
    email.refresh_from_db()
    return email


# --- Shipping API -------------------------------------------------------------------


def order_notify_shipping(*, order_id: int, final_attempt: bool) -> ShippingAttempt | None:
    """Tell the shipping API that an order shipped; record the attempt and, at the end, the outcome.

    At most one call per order is in flight: the attempt row is claimed before
    the call (``_shipping_attempt_claim``), so a redelivered message that
    overlaps a retry finds the claim and returns without calling. Raises
    ShippingApiError on a failed attempt so the task retries with backoff; on
    the final failed attempt the order is marked failed first. Does nothing for
    an order whose shipping call already finished.
    """
    attempt = _shipping_attempt_claim(order_id=order_id)
    if attempt is None:
        return None
    order = attempt.order
    payload: dict[str, Any] = {
        "order": order.number,
        "user_id": order.user_id,
        "total_price": str(order.total_price),
        "items": [
            {"product": item.product_id, "quantity": item.quantity}
            for item in order.items.only("product_id", "quantity")
        ],
    }
    started = time.monotonic()
    status_code: int | None = None
    try:
        response = requests.post(
            settings.ORDERS_SHIPPING_API_URL, json=payload, timeout=settings.ORDERS_SHIPPING_API_TIMEOUT
        )
        status_code = response.status_code
        error = "" if response.ok else f"HTTP {response.status_code}: {response.text[:200]}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    now = timezone.now()
    attempt.succeeded, attempt.status_code, attempt.error = not error, status_code, error
    attempt.duration_ms, attempt.finished_at = int((time.monotonic() - started) * 1000), now
    with transaction.atomic():
        attempt.save(update_fields=["succeeded", "status_code", "error", "duration_ms", "finished_at"])
        _shipping_attempt_event(attempt, "succeeded" if not error else "failed")
        pending = Order.objects.filter(pk=order.pk, shipping_status=ShippingStatus.PENDING)
        if not error:
            pending.update(shipping_status=ShippingStatus.SUCCEEDED, shipping_updated_at=now, shipping_error="")
        elif final_attempt:
            pending.update(shipping_status=ShippingStatus.FAILED, shipping_updated_at=now, shipping_error=error)
        else:
            pending.update(shipping_updated_at=now, shipping_error=error)
    order_detail_invalidate(order_id=order.pk)
    logger.info("shipping: order %s attempt %d %s", order.number, attempt.number, error or "succeeded")
    if error:
        raise ShippingApiError(error)
    return attempt


def shipping_claim_stale_after() -> timedelta:
    """How long an unfinished attempt blocks others: past this its worker is taken as lost mid-call."""
    return timedelta(seconds=2 * settings.ORDERS_SHIPPING_API_TIMEOUT + 30)


@transaction.atomic
def _shipping_attempt_claim(*, order_id: int) -> ShippingAttempt | None:
    """Write the next attempt row before the call, or return None if no call may start now.

    The order row is locked, so two deliveries of the task decide one after
    the other: the second sees the first one's unfinished attempt and leaves.
    The unique (order, number) constraint backs this up. An attempt left
    unfinished past ``shipping_claim_stale_after()`` (its worker died during the
    call) is closed as abandoned and the next one may start.
    """
    order = Order.objects.select_for_update(of=("self",)).filter(pk=order_id).first()
    if order is None or order.shipping_status != ShippingStatus.PENDING:
        logger.info("shipping: nothing to do for order %s", order_id)
        return None
    now = timezone.now()
    last = order.shipping_attempts.order_by("-number").first()
    if last is not None and last.finished_at is None:
        if last.attempted_at > now - shipping_claim_stale_after():
            logger.info("shipping: order %s attempt %d is in flight; this delivery leaves", order.number, last.number)
            return None
        last.finished_at, last.error = now, "abandoned: no outcome was recorded (the worker stopped during the call)"
        last.save(update_fields=["finished_at", "error"])
        _shipping_attempt_event(last, "abandoned")
    attempt = ShippingAttempt.objects.create(order=order, number=last.number + 1 if last else 1)
    Order.objects.filter(pk=order.pk).update(shipping_updated_at=now)
    return attempt


def _shipping_attempt_event(attempt: ShippingAttempt, outcome: str) -> None:
    data = {"number": attempt.number, "outcome": outcome, "status_code": attempt.status_code, "error": attempt.error}
    _event(attempt.order_id, OrderEventType.SHIPPING_ATTEMPT, data)


# --- Sweeper --------------------------------------------------------------------------


def order_sweep(*, older_than: timedelta | None = None) -> dict[str, int]:
    """Re-enqueue receipts/emails not done and shipping calls still pending past a timeout.

    Messages can be lost (broker down at commit, worker killed before ack with
    a purged queue); the rows say what is still to do, and the tasks are idempotent.
    """
    older_than = older_than or timedelta(seconds=settings.ORDERS_SWEEP_AFTER_SECONDS)
    now = timezone.now()
    cutoff = now - older_than
    sent = OrderEmail.objects.filter(order=OuterRef("pk"), kind=OrderEmail.Kind.CONFIRMATION, sent_at__isnull=False)
    receipts = list(
        Order.objects.filter(created_at__lt=cutoff, created_at__gte=now - timedelta(days=1))
        .filter(Q(receipt="") | ~Exists(sent))
        .values_list("pk", flat=True)[:500]
    )
    for order_id in receipts:
        order_receipt_task.delay_on_commit(order_id)
    shipping = list(
        Order.objects.filter(shipping_status=ShippingStatus.PENDING, shipping_updated_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:500]
    )
    Order.objects.filter(pk__in=shipping).update(shipping_updated_at=now)
    for order_id in shipping:
        order_notify_shipping_task.delay_on_commit(order_id)
    logger.info("sweep: %d receipts and %d shipping calls re-enqueued", len(receipts), len(shipping))
    return {"receipts": len(receipts), "shipping": len(shipping)}
