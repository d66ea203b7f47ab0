"""The shipping API stand-in: its answers, and a shipped order completing against it over real HTTP."""

import os
import subprocess
import sys
from http import HTTPStatus

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from orders.models import Order, OrderStatus, ShippingStatus
from orders.services import OrderLineIn, order_create
from orders.tasks import order_notify_shipping_task
from orders.tests.factories import ProductFactory

STANDIN = "/stand-in/shipping/"


def test_standin_path_is_stable():
    assert reverse("stand-in:shipping") == STANDIN


def test_standin_accepts_an_order_with_a_tracking_id(client):
    response = client.post(STANDIN, {"order": "ORD-00000007", "items": []}, content_type="application/json")

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert (body["order"], body["status"]) == ("ORD-00000007", "accepted")
    assert body["id"].startswith("STANDIN-")


def test_standin_answers_plain_http_when_https_is_enforced(client, settings):
    """The workers call it over the internal network: the https redirect must not send them away."""
    settings.SECURE_SSL_REDIRECT = True

    redirected = client.post("/api/auth/login/", {}, content_type="application/json")
    response = client.post(STANDIN, {"order": "ORD-00000008"}, content_type="application/json")

    assert (redirected.status_code, response.status_code) == (HTTPStatus.MOVED_PERMANENTLY, HTTPStatus.CREATED)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"items": []}', b'{"order": 7}', b"\xff\xfe"],
)
def test_standin_bad_body_is_400(client, body):
    response = client.post(STANDIN, body, content_type="application/json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "detail" in response.json()


def test_standin_only_accepts_post(client):
    assert client.get(STANDIN).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_default_shipping_url_is_the_standin_on_the_served_port():
    env = {k: v for k, v in os.environ.items() if k != "ORDERS_SHIPPING_API_URL"}
    env.update(PORT="8123", DJANGO_SETTINGS_MODULE="config.settings.base")
    code = "import django; django.setup(); from django.conf import settings; print(settings.ORDERS_SHIPPING_API_URL)"

    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=django_settings.BASE_DIR, capture_output=True, text=True, check=True
    )

    assert out.stdout.strip() == f"http://127.0.0.1:8123{STANDIN}"


@pytest.mark.django_db(transaction=True)
def test_shipped_order_succeeds_against_the_standin_served_by_the_app(live_server, settings, user):
    settings.ORDERS_SHIPPING_API_URL = f"{live_server.url}{STANDIN}"
    order = order_create(user=user, lines=[OrderLineIn(product_id=ProductFactory().pk, quantity=1)])
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.SHIPPED, shipping_status=ShippingStatus.PENDING)

    assert order_notify_shipping_task.apply(args=[order.pk]).successful()

    order.refresh_from_db()
    assert order.shipping_status == ShippingStatus.SUCCEEDED
    assert list(order.shipping_attempts.values_list("number", "succeeded", "status_code")) == [(1, True, 201)]
