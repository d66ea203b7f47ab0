"""Celery tasks: receipts parsed back, emails over SMTP, shipping retries against a local HTTP server."""

import io
import re
import socket
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from conftest import broker_outage, free_port, jwt_client, wait_until
from orders.models import Order, OrderEmail, ShippingAttempt, ShippingStatus
from orders.services import OrderLineIn, order_create, shipping_claim_stale_after
from orders.tasks import order_notify_shipping_task, order_receipt_task, order_sweep_task
from orders.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def place(user, *pairs):
    return order_create(user=user, lines=[OrderLineIn(product_id=p.pk, quantity=q) for p, q in pairs])


def pdf_text(order: Order) -> str:
    with order.receipt.open("rb") as fh:
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(fh.read())).pages)


def shipped(order: Order) -> Order:
    Order.objects.filter(pk=order.pk).update(status="shipped", shipping_status=ShippingStatus.PENDING)
    return order


def test_receipt_task_stores_pdf_and_records_and_sends_email(user):
    order = place(user, (ProductFactory(name="Tea pot", price=Decimal("12.50")), 2))

    result = order_receipt_task.apply(args=[order.pk])

    assert result.successful()
    order.refresh_from_db()
    text = pdf_text(order)
    assert order.number in text
    assert "Tea pot" in text
    assert re.search(r"Total\s+25\.00 EUR", text)
    email = OrderEmail.objects.get(order=order)
    assert (email.recipient, email.subject) == (user.email, f"Your order {order.number}")
    assert "Total: 25.00" in email.body
    assert email.created_at is not None
    assert email.sent_at is not None
    [sent] = mail.outbox
    assert (sent.to, sent.subject, sent.body) == ([user.email], email.subject, email.body)
    assert sent.attachments[0][0] == f"receipt-{order.number}.pdf"


def test_receipt_task_is_idempotent(user):
    order = place(user, (ProductFactory(), 1))
    order_receipt_task.apply(args=[order.pk])
    order.refresh_from_db()
    first = order.receipt.name

    order_receipt_task.apply(args=[order.pk])

    order.refresh_from_db()
    assert (order.receipt.name, OrderEmail.objects.count(), len(mail.outbox)) == (first, 1, 1)


def test_receipt_task_for_deleted_order_does_nothing(user):
    assert order_receipt_task.apply(args=[987654]).successful()
    assert not OrderEmail.objects.exists()


def test_confirmation_email_goes_through_a_real_smtp_server(user, smtp_server):
    order = place(user, (ProductFactory(price=Decimal("7.00")), 1))

    order_receipt_task.apply(args=[order.pk])

    [message] = smtp_server.messages
    assert (message["To"], message["Subject"]) == (user.email, f"Your order {order.number}")
    attachment = next(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert order.number in PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text()


def test_smtp_down_keeps_email_unsent_for_the_sweeper(user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1
    order = place(user, (ProductFactory(), 1))

    result = order_receipt_task.apply(args=[order.pk])

    assert result.failed()
    assert isinstance(result.result, OSError)
    email = OrderEmail.objects.get(order=order)
    assert email.sent_at is None
    order.refresh_from_db()
    assert order.receipt  # the PDF is kept; only the email is retried


def test_shipping_fails_twice_then_succeeds(user, shipping_api):
    server = shipping_api(failures=2)
    order = shipped(place(user, (ProductFactory(), 1)))

    result = order_notify_shipping_task.apply(args=[order.pk])

    assert result.successful()
    order.refresh_from_db()
    attempts = list(order.shipping_attempts.values_list("number", "succeeded", "status_code"))
    assert attempts == [(1, False, 503), (2, False, 503), (3, True, 201)]
    assert (order.shipping_status, order.shipping_error, len(server.requests)) == (ShippingStatus.SUCCEEDED, "", 3)
    assert f'"order": "{order.number}"'.encode() in server.requests[0]


def test_shipping_always_failing_gives_up_after_three_retries(user, shipping_api):
    server = shipping_api(failures=1000)
    order = shipped(place(user, (ProductFactory(), 1)))

    result = order_notify_shipping_task.apply(args=[order.pk])

    assert result.failed()
    order.refresh_from_db()
    assert list(order.shipping_attempts.values_list("number", "succeeded")) == [
        (1, False),
        (2, False),
        (3, False),
        (4, False),
    ]
    assert order.shipping_status == ShippingStatus.FAILED
    assert order.shipping_error.startswith("HTTP 503")
    assert len(server.requests) == 4


def test_shipping_timeout_is_recorded(user, settings):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(10)  # accepts connections, never answers
    settings.ORDERS_SHIPPING_API_URL = f"http://127.0.0.1:{silent.getsockname()[1]}/"
    settings.ORDERS_SHIPPING_API_TIMEOUT = 0.2
    order = shipped(place(user, (ProductFactory(), 1)))

    try:
        order_notify_shipping_task.apply(args=[order.pk])
    finally:
        silent.close()

    order.refresh_from_db()
    assert order.shipping_status == ShippingStatus.FAILED
    assert order.shipping_attempts.count() == 4
    assert "ReadTimeout" in order.shipping_attempts.first().error


def test_shipping_attempt_numbers_are_unique_per_order(user):
    order = place(user, (ProductFactory(), 1))
    ShippingAttempt.objects.create(order=order, number=1, finished_at=timezone.now())

    with pytest.raises(IntegrityError), transaction.atomic():
        ShippingAttempt.objects.create(order=order, number=1)


def test_shipping_attempt_in_flight_keeps_a_second_delivery_from_calling(user, shipping_api):
    server = shipping_api(failures=0)
    order = shipped(place(user, (ProductFactory(), 1)))
    ShippingAttempt.objects.create(order=order, number=1)  # claimed by a delivery still calling

    assert order_notify_shipping_task.apply(args=[order.pk]).successful()

    assert (len(server.requests), order.shipping_attempts.count()) == (0, 1)


def test_shipping_attempt_abandoned_by_a_lost_worker_is_closed_and_the_call_made(user, shipping_api):
    server = shipping_api(failures=0)
    order = shipped(place(user, (ProductFactory(), 1)))
    lost = ShippingAttempt.objects.create(order=order, number=1)
    ShippingAttempt.objects.filter(pk=lost.pk).update(
        attempted_at=timezone.now() - shipping_claim_stale_after() - timedelta(seconds=1)
    )

    assert order_notify_shipping_task.apply(args=[order.pk]).successful()

    attempts = list(order.shipping_attempts.values_list("number", "succeeded", "error"))
    assert [(n, ok) for n, ok, _ in attempts] == [(1, False), (2, True)]
    assert attempts[0][2].startswith("abandoned")
    assert len(server.requests) == 1
    order.refresh_from_db()
    assert order.shipping_status == ShippingStatus.SUCCEEDED


def test_shipping_task_ignores_orders_not_waiting(user, shipping_api):
    server = shipping_api(failures=0)
    order = place(user, (ProductFactory(), 1))

    assert order_notify_shipping_task.apply(args=[order.pk]).successful()

    assert (order.shipping_attempts.count(), len(server.requests)) == (0, 0)


def test_sweep_task_runs(user):
    assert order_sweep_task.apply().get() == {"receipts": 0, "shipping": 0}


# --- A real worker process ------------------------------------------------------


@pytest.fixture
def orders_worker(request, monkeypatch, shipping_api):
    """A real worker whose shipping URL is a local server failing twice, with short backoff."""
    server = shipping_api(failures=2)
    monkeypatch.setenv("ORDERS_SHIPPING_API_URL", server.url)
    monkeypatch.setenv("ORDERS_SHIPPING_API_TIMEOUT", "2")
    monkeypatch.setenv("ORDERS_SHIPPING_RETRY_BACKOFF", "1")
    monkeypatch.setenv("ORDERS_SHIPPING_RETRY_BACKOFF_MAX", "1")
    worker = request.getfixturevalue("celery_worker")
    worker.server = server
    return worker


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_worker_generates_receipt_and_retries_shipping(orders_worker, user, staff_user):
    product = ProductFactory(stock=5, price=Decimal("4.00"))
    customer, admin = jwt_client(user), jwt_client(staff_user)

    created = customer.post(
        reverse("orders-api:order-list"), {"items": [{"product": product.pk, "quantity": 3}]}, format="json"
    )
    order_id = created.json()["id"]
    wait_until(lambda: OrderEmail.objects.filter(order_id=order_id, sent_at__isnull=False).exists())
    for status in ("processing", "shipped"):
        assert admin.patch(reverse("orders-api:order-detail", args=[order_id]), {"status": status}).status_code == 200
    wait_until(lambda: Order.objects.get(pk=order_id).shipping_status == ShippingStatus.SUCCEEDED)

    order = Order.objects.get(pk=order_id)
    assert re.search(r"Total\s+12\.00 EUR", pdf_text(order))
    assert list(order.shipping_attempts.values_list("succeeded", flat=True)) == [False, False, True]
    receipt = customer.get(reverse("orders-api:order-receipt", args=[order_id]))
    assert (receipt.status_code, receipt["Content-Type"]) == (HTTPStatus.OK, "application/pdf")
    log = orders_worker.log_path.read_text()
    assert "task succeeded name=orders.tasks.order_receipt_task" in log
    assert log.count("task retry name=orders.tasks.order_notify_shipping_task") == 2
    assert "task succeeded name=orders.tasks.order_notify_shipping_task" in log


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_order_placed_while_broker_down_is_re_driven_by_the_sweeper(celery_worker, user, settings):
    product = ProductFactory(stock=5)
    with broker_outage():
        created = jwt_client(user).post(
            reverse("orders-api:order-list"), {"items": [{"product": product.pk, "quantity": 1}]}, format="json"
        )
    assert created.status_code == HTTPStatus.CREATED
    order = Order.objects.get()
    assert not order.receipt
    settings.ORDERS_SWEEP_AFTER_SECONDS = 0

    assert order_sweep_task.apply().get() == {"receipts": 1, "shipping": 0}

    wait_until(lambda: OrderEmail.objects.filter(order=order, sent_at__isnull=False).exists())
    order.refresh_from_db()
    assert order.receipt
