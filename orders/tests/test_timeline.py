"""The order timeline: events written with the changes they record, read back through the API."""

from collections import OrderedDict
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from orders.models import Order, OrderEvent, OrderStatus, Product, ShippingAttempt, ShippingStatus
from orders.services import (
    OrderLineIn,
    _order_write,
    _order_write_orm,
    order_create,
    order_notify_shipping,
    order_status_change,
    shipping_claim_stale_after,
)
from orders.tasks import order_notify_shipping_task, order_receipt_task
from orders.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def events_url(pk: int) -> str:
    return reverse("orders-api:order-events", args=[pk])


def place(user, *pairs):
    return order_create(user=user, lines=[OrderLineIn(product_id=p.pk, quantity=q) for p, q in pairs])


class Boom(Exception):
    pass


def test_timeline_records_each_step_in_order(auth_client, staff_client, user, staff_user, smtp_server, shipping_api):
    tea = ProductFactory(name="Tea pot", price=Decimal("12.50"), stock=10)
    cup = ProductFactory(name="Cup", price=Decimal("3.20"), stock=10)
    created = auth_client.post(
        reverse("orders-api:order-list"),
        {"items": [{"product": cup.pk, "quantity": 3}, {"product": tea.pk, "quantity": 2}]},
        format="json",
    )
    assert created.status_code == HTTPStatus.CREATED
    pk = created.json()["id"]
    assert order_receipt_task.apply(args=[pk]).successful()  # receipt, then the email over real SMTP
    assert len(smtp_server.messages) == 1
    detail = reverse("orders-api:order-detail", args=[pk])
    for status in ("processing", "shipped"):
        assert staff_client.patch(detail, {"status": status}, format="json").status_code == HTTPStatus.OK
    server = shipping_api(failures=1)  # 503 once, then 201
    assert order_notify_shipping_task.apply(args=[pk]).successful()
    assert len(server.requests) == 2
    assert staff_client.patch(detail, {"status": "delivered"}, format="json").status_code == HTTPStatus.OK

    response = auth_client.get(events_url(pk))

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (8, None, None)
    events = body["results"]
    assert [e["type"] for e in events] == [
        "created",
        "receipt_generated",
        "email_sent",
        "status_changed",
        "status_changed",
        "shipping_attempt",
        "shipping_attempt",
        "status_changed",
    ]
    assert events[0]["data"] == {
        "total_price": "34.60",
        "items": [
            {"product": cup.pk, "product_name": "Cup", "quantity": 3, "price_at_purchase": "3.20"},
            {"product": tea.pk, "product_name": "Tea pot", "quantity": 2, "price_at_purchase": "12.50"},
        ],
    }
    assert events[0]["created_at"] == created.json()["created_at"]
    assert events[1]["data"] == {}
    assert events[2]["data"] == {"kind": "confirmation", "recipient": user.email}
    assert [e["data"] for e in events if e["type"] == "status_changed"] == [
        {"from": "pending", "to": "processing", "by": staff_user.pk},
        {"from": "processing", "to": "shipped", "by": staff_user.pk},
        {"from": "shipped", "to": "delivered", "by": staff_user.pk},
    ]
    failed, succeeded = (e["data"] for e in events if e["type"] == "shipping_attempt")
    assert (failed["number"], failed["outcome"], failed["status_code"]) == (1, "failed", 503)
    assert failed["error"].startswith("HTTP 503")
    assert succeeded == {"number": 2, "outcome": "succeeded", "status_code": 201, "error": ""}
    stamps = [e["created_at"] for e in events]
    assert stamps == sorted(stamps)
    # The same history for an admin, and paginated like every list.
    assert staff_client.get(events_url(pk)).json() == body
    page = auth_client.get(events_url(pk), {"page_size": 3, "page": 3}).json()
    assert ([e["type"] for e in page["results"]], page["next"]) == (["shipping_attempt", "status_changed"], None)


def test_owner_cancelling_is_recorded_as_the_owner(auth_client, user):
    order = place(user, (ProductFactory(), 1))

    auth_client.patch(reverse("orders-api:order-detail", args=[order.pk]), {"status": "cancelled"}, format="json")

    last = auth_client.get(events_url(order.pk)).json()["results"][-1]
    assert last["data"] == {"from": "pending", "to": "cancelled", "by": user.pk}


def test_other_users_order_timeline_is_404_like_the_order(other_client, user, staff_client):
    order = place(user, (ProductFactory(), 1))

    theirs = other_client.get(events_url(order.pk))
    detail = other_client.get(reverse("orders-api:order-detail", args=[order.pk]))
    missing = staff_client.get(events_url(order.pk + 1000))

    assert (theirs.status_code, missing.status_code) == (HTTPStatus.NOT_FOUND, HTTPStatus.NOT_FOUND)
    assert theirs.json() == detail.json()


def test_abandoned_shipping_attempt_is_recorded(user, shipping_api):
    shipping_api(failures=0)
    order = place(user, (ProductFactory(), 1))
    Order.objects.filter(pk=order.pk).update(status="shipped", shipping_status=ShippingStatus.PENDING)
    lost = ShippingAttempt.objects.create(order=order, number=1)
    ShippingAttempt.objects.filter(pk=lost.pk).update(
        attempted_at=timezone.now() - shipping_claim_stale_after() - timedelta(seconds=1)
    )

    assert order_notify_shipping_task.apply(args=[order.pk]).successful()

    shipping = list(order.events.filter(type="shipping_attempt").values_list("data", flat=True))
    assert [(d["number"], d["outcome"], d["status_code"]) for d in shipping] == [
        (1, "abandoned", None),
        (2, "succeeded", 201),
    ]


def test_order_write_paths_write_the_same_created_event(user, postgres):
    a, b = ProductFactory(stock=50, price=Decimal("3.10")), ProductFactory(stock=50, price=Decimal("12.00"))
    wanted = OrderedDict([(b.pk, 3), (a.pk, 2)])
    products = {p.pk: p for p in Product.objects.filter(pk__in=[a.pk, b.pk])}

    with transaction.atomic():
        single = _order_write(user=user, total=Decimal("42.20"), wanted=wanted, products=products)
    with transaction.atomic():
        orm = _order_write_orm(user=user, total=Decimal("42.20"), wanted=wanted, products=products)

    def event(order):
        (stored,) = OrderEvent.objects.filter(order=order).values("type", "data", "created_at")
        assert stored["created_at"] == Order.objects.get(pk=order.pk).created_at
        return stored["type"], stored["data"]

    assert event(single) == event(orm)
    assert event(single)[1]["items"][0] == {
        "product": b.pk,
        "product_name": b.name,
        "quantity": 3,
        "price_at_purchase": "12.00",
    }


@pytest.mark.parametrize("vendor_path", ["single_statement", "orm"])
def test_created_event_rolls_back_with_the_order(user, postgres, monkeypatch, vendor_path):
    if vendor_path == "orm":
        monkeypatch.setattr("orders.services._order_write", _order_write_orm)
    product = ProductFactory(stock=5)

    def place_then_fail():
        with transaction.atomic():
            order = place(user, (product, 2))
            assert OrderEvent.objects.filter(order=order).count() == 1  # written inside the transaction
            raise Boom

    with pytest.raises(Boom):
        place_then_fail()

    assert not Order.objects.exists()
    assert not OrderEvent.objects.exists()
    assert Product.objects.get(pk=product.pk).stock == 5


def test_status_change_event_rolls_back_with_the_change(user, staff_user):
    order = place(user, (ProductFactory(stock=5), 1))

    def change_then_fail():
        with transaction.atomic():
            order_status_change(order=order, actor=staff_user, status=OrderStatus.PROCESSING)
            assert order.events.filter(type="status_changed").exists()
            raise Boom

    with pytest.raises(Boom):
        change_then_fail()

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING
    assert list(order.events.values_list("type", flat=True)) == ["created"]


def test_shipping_outcome_and_its_event_are_one_transaction(user, shipping_api, monkeypatch):
    """A failure while recording the outcome leaves neither the outcome nor its event."""
    shipping_api(failures=0)
    order = place(user, (ProductFactory(), 1))
    Order.objects.filter(pk=order.pk).update(status="shipped", shipping_status=ShippingStatus.PENDING)
    real_update = type(Order.objects.all()).update

    def failing_update(qs, **fields):
        if qs.model is Order and fields.get("shipping_status") == ShippingStatus.SUCCEEDED:
            raise Boom
        return real_update(qs, **fields)

    monkeypatch.setattr(type(Order.objects.all()), "update", failing_update)

    with pytest.raises(Boom):
        order_notify_shipping(order_id=order.pk, final_attempt=False)

    assert not order.events.filter(type="shipping_attempt").exists()
    assert ShippingAttempt.objects.get(order=order).finished_at is None
