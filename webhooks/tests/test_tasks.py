"""End to end: the API changes an order, a real worker delivers to real receivers.

Each receiver verifies the signature with the ``standardwebhooks`` package."""

import json
import threading
import time
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from conftest import broker_outage, jwt_client, wait_until
from orders.tests.factories import ProductFactory
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus
from webhooks.services import event_publish, webhook_sweep
from webhooks.tasks import webhook_sweep_task
from webhooks.tests.factories import EndpointFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ORDERS = reverse("orders-api:order-list")


def place_order(client, product) -> dict:
    response = client.post(ORDERS, {"items": [{"product": product.pk, "quantity": 1}]}, format="json")
    assert response.status_code == HTTPStatus.CREATED
    return response.json()


def test_order_events_are_delivered_signed(hooks_worker, user, staff_user, receiver):
    endpoint = EndpointFactory(owner=user, url=receiver.url, events=["order.created", "order.status_changed"])
    receiver.secret = endpoint.secret
    product = ProductFactory(price=Decimal("5.00"))

    created = place_order(jwt_client(user), product)
    jwt_client(staff_user).patch(reverse("orders-api:order-detail", args=[created["id"]]), {"status": "processing"})

    receiver.wait_for(2)
    first, second = sorted(receiver.verified(), key=lambda p: p["type"])
    assert (first["type"], first["data"]) == ("order.created", created)
    assert second["type"] == "order.status_changed"
    assert (second["data"]["id"], second["data"]["from"], second["data"]["to"]) == (
        created["id"],
        "pending",
        "processing",
    )
    assert second["data"]["status"] == "processing"
    assert [r.error for r in receiver.received] == ["", ""]
    wait_until(lambda: Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 2)


def test_500_twice_then_200_is_retried_by_the_worker(hooks_worker, user, make_receiver):
    receiver = make_receiver(script=[500, 500, 200])
    endpoint = EndpointFactory(owner=user, url=receiver.url, events=["order.created"])
    receiver.secret = endpoint.secret
    client = jwt_client(user)

    place_order(client, ProductFactory())

    receiver.wait_for(3)
    wait_until(lambda: Delivery.objects.get().status == DeliveryStatus.SUCCEEDED)
    log = client.get(reverse("webhooks-api:endpoint-deliveries", args=[endpoint.pk])).json()
    assert [(r["attempt"], r["status_code"], r["succeeded"]) for r in log["results"]] == [
        (3, 200, True),
        (2, 500, False),
        (1, 500, False),
    ]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert len(receiver.verified()) == 3


def test_test_endpoint_is_delivered_and_recorded(hooks_worker, user, receiver):
    endpoint = EndpointFactory(owner=user, url=receiver.url, events=["file.failed"])
    receiver.secret = endpoint.secret
    client = jwt_client(user)

    sent = client.post(reverse("webhooks-api:endpoint-test", args=[endpoint.pk])).json()

    receiver.wait_for(1)
    assert receiver.verified() == [sent]
    log = wait_until(
        lambda: client.get(reverse("webhooks-api:endpoint-deliveries", args=[endpoint.pk])).json()["results"]
    )
    assert (log[0]["event_id"], log[0]["type"]) == (sent["id"], "webhook.test")


@pytest.mark.parametrize("worker_timeout", ["5"])
def test_a_hanging_receiver_does_not_delay_another(hooks_worker, user, make_receiver):
    slow = make_receiver(hang=threading.Event())
    fast = make_receiver()
    EndpointFactory(owner=user, url=slow.url, events=["order.created"])
    EndpointFactory(owner=user, url=fast.url, events=["order.created"])

    with transaction.atomic():
        for n in range(3):
            event_publish(user_id=user.pk, type="order.created", data={"n": n})

    fast.wait_for(3)
    slow.wait_for(1)
    # The worker has two processes; the slow endpoint may hold only one of them
    # (WEBHOOKS_ENDPOINT_CONCURRENCY), so the fast endpoint's three arrive before the
    # slow endpoint's first send gives up (5 s here), and its others wait for the slot.
    assert len(slow.received) == 1
    assert max(r.at for r in fast.received) < slow.received[0].at + 5
    slow.release()
    slow.wait_for(3)
    assert sorted(json.loads(r.body)["data"]["n"] for r in slow.received) == [0, 1, 2]


def test_a_killed_worker_delays_but_does_not_lose_a_delivery(hooks_worker, user, make_receiver):
    receiver = make_receiver(hang=threading.Event())
    endpoint = EndpointFactory(owner=user, url=receiver.url, events=["order.created"])
    receiver.secret = endpoint.secret
    place_order(jwt_client(user), ProductFactory())
    receiver.wait_for(1)

    hooks_worker.kill()
    receiver.release()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    # The dead send holds its claim until the lease runs out (timeout + task margin).
    wait_until(lambda: Delivery.objects.get().claimed_until < timezone.now(), timeout=30)
    hooks_worker.start()
    assert webhook_sweep() == [delivery.pk]

    receiver.wait_for(2)
    wait_until(lambda: Delivery.objects.get().status == DeliveryStatus.SUCCEEDED)
    attempts = list(DeliveryAttempt.objects.order_by("number").values_list("number", "error", "succeeded"))
    assert attempts[0][0:1] == (1,)
    assert attempts[0][1].startswith("abandoned")
    assert attempts[1] == (2, "", True)
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]


def test_a_stopped_broker_delays_but_does_not_lose_a_delivery(hooks_worker, user, receiver):
    endpoint = EndpointFactory(owner=user, url=receiver.url, events=["order.created"])
    receiver.secret = endpoint.secret

    with broker_outage():
        created = place_order(jwt_client(user), ProductFactory())
        assert webhook_sweep() == []  # nothing can be published yet; the row waits
    time.sleep(0.5)
    assert receiver.received == []
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert webhook_sweep_task.apply().get() == 1

    receiver.wait_for(1)
    assert receiver.verified()[0]["data"] == created
