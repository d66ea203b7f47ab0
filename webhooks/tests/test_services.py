"""Publishing and delivering in-process, to real receivers on 127.0.0.1.

Signatures are checked by the receiver with the ``standardwebhooks`` package."""

import itertools
import json
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from conftest import run_at_once
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, Event
from webhooks.services import endpoint_delete, event_publish, retry_delay, webhook_deliver, webhook_sweep
from webhooks.tests.factories import EndpointFactory

pytestmark = pytest.mark.django_db


def publish(user, type="order.created", data=None):
    return event_publish(user_id=user.pk, type=type, data=data if data is not None else {"id": 7, "név": "Заказ"})


def deliver_now(delivery: Delivery) -> DeliveryAttempt | None:
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    return webhook_deliver(delivery_id=delivery.pk)


def test_no_endpoint_costs_one_query_and_writes_nothing(user, django_assert_num_queries):
    EndpointFactory(owner=user, events=["file.failed"])
    EndpointFactory(owner=user, active=False)
    built = []

    with django_assert_num_queries(1):
        event = publish(user, data=lambda: built.append(1) or {})

    assert (event, built, Event.objects.count()) == (None, [], 0)


def test_an_event_reaches_only_the_owners_subscribed_active_endpoints(user, other_user):
    wanted = EndpointFactory(owner=user, events=["order.created"])
    EndpointFactory(owner=user, events=["file.failed"])
    EndpointFactory(owner=user, active=False)
    EndpointFactory(owner=other_user)

    event = publish(user)

    assert list(Delivery.objects.values_list("endpoint_id", "event_id")) == [(wanted.pk, event.pk)]


def test_delivery_is_signed_as_standard_webhooks_verifies(user, quick_settings, receiver):
    endpoint = EndpointFactory(owner=user, url=receiver.url)
    receiver.secret = endpoint.secret
    event = publish(user)

    attempt = webhook_deliver(delivery_id=Delivery.objects.get().pk)

    (request,) = receiver.received
    assert request.error == ""
    assert request.payload == {
        "id": event.pk,
        "type": "order.created",
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": {"id": 7, "név": "Заказ"},
    }
    assert request.headers["webhook-id"] == event.pk
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 30
    assert (attempt.number, attempt.succeeded, attempt.status_code) == (1, True, 200)
    assert Delivery.objects.get().status == DeliveryStatus.SUCCEEDED


def test_a_wrong_secret_does_not_verify(user, quick_settings, receiver):
    """The oracle can fail: a receiver holding another secret refuses the request."""
    endpoint = EndpointFactory(owner=user, url=receiver.url)
    receiver.secret = EndpointFactory.build().secret
    publish(user)

    attempt = webhook_deliver(delivery_id=Delivery.objects.get().pk)

    assert receiver.received[0].error == "No matching signature found"
    assert (attempt.succeeded, attempt.status_code) == (False, 400)
    body = receiver.received[0]
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(receiver.secret).verify(body.body, body.headers)
    assert Webhook(endpoint.secret).verify(body.body, body.headers)["type"] == "order.created"


def test_500_twice_then_200_is_retried_with_the_same_id(user, quick_settings, make_receiver):
    receiver = make_receiver(script=[500, 500, 200])
    receiver.secret = EndpointFactory(owner=user, url=receiver.url).secret
    publish(user)
    delivery = Delivery.objects.get()

    outcomes = [deliver_now(delivery) for _ in range(4)]

    assert [(a.number, a.status_code, a.succeeded) for a in outcomes[:3]] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
    ]
    assert outcomes[3] is None  # done: nothing more is sent
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert len(receiver.verified()) == 3
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 3
    assert Delivery.objects.get().status == DeliveryStatus.SUCCEEDED


def test_a_retry_waits_for_its_time(user, quick_settings, make_receiver):
    receiver = make_receiver(script=[503])
    EndpointFactory(owner=user, url=receiver.url)
    publish(user)
    delivery = Delivery.objects.get()
    before = timezone.now()

    webhook_deliver(delivery_id=delivery.pk)
    early = webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert early is None
    assert before + timedelta(seconds=0.3) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=0.36)


def test_the_schedule_spent_marks_the_delivery_failed(user, quick_settings, make_receiver):
    receiver = make_receiver(script=[404])
    EndpointFactory(owner=user, url=receiver.url)
    publish(user)
    delivery = Delivery.objects.get()

    attempts = [deliver_now(delivery) for _ in range(5)]

    delivery.refresh_from_db()
    assert [a.number for a in attempts if a] == [1, 2, 3, 4]  # the first and the 3 retries of the schedule
    assert (delivery.status, len(receiver.received)) == (DeliveryStatus.FAILED, 4)


def test_redirects_are_not_followed(user, quick_settings, make_receiver):
    receiver = make_receiver(script=[307])
    EndpointFactory(owner=user, url=receiver.url)
    publish(user)

    attempt = webhook_deliver(delivery_id=Delivery.objects.get().pk)

    assert (attempt.status_code, attempt.succeeded, len(receiver.received)) == (307, False, 1)
    assert attempt.error.startswith("HTTP 307")


def test_a_hanging_receiver_times_out(user, quick_settings, make_receiver):
    receiver = make_receiver(hang=threading.Event())
    EndpointFactory(owner=user, url=receiver.url)
    publish(user)
    started = time.monotonic()

    attempt = webhook_deliver(delivery_id=Delivery.objects.get().pk)

    assert time.monotonic() - started < 5
    assert (attempt.status_code, attempt.error) == (None, "timeout: no answer within 1 s")
    assert Delivery.objects.get().status == DeliveryStatus.PENDING


def test_a_connection_error_is_recorded_and_retried(user, quick_settings):
    EndpointFactory(owner=user, url="http://127.0.0.1:9/closed/")
    publish(user)

    attempt = webhook_deliver(delivery_id=Delivery.objects.get().pk)

    assert attempt.error.startswith("connection error:")
    assert Delivery.objects.get().status == DeliveryStatus.PENDING


def test_delivery_to_an_internal_address_is_refused_when_not_allowed(user, quick_settings, receiver):
    """Registered while allowed, then the setting goes off: the check at delivery refuses it."""
    EndpointFactory(owner=user, url=receiver.url.replace("127.0.0.1", "localhost"))
    publish(user)
    quick_settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = False

    attempt = webhook_deliver(delivery_id=Delivery.objects.get().pk)

    assert attempt.error.startswith("refused: The host localhost resolves to")
    assert receiver.received == []


def test_a_name_is_sent_to_the_checked_address_with_its_host_header(user, quick_settings, receiver):
    EndpointFactory(owner=user, url=receiver.url.replace("127.0.0.1", "localhost"))
    publish(user)

    attempt = webhook_deliver(delivery_id=Delivery.objects.get().pk)

    assert attempt.succeeded
    assert receiver.received[0].headers["Host"] == f"localhost:{receiver.url.split(':')[2].split('/')[0]}"


def test_an_inactive_or_deleted_endpoint_gets_nothing(user, quick_settings, receiver):
    endpoint = EndpointFactory(owner=user, url=receiver.url)
    publish(user)
    first = Delivery.objects.get()
    endpoint.active = False
    endpoint.save()
    assert webhook_deliver(delivery_id=first.pk) is None
    endpoint.active = True
    endpoint.save()
    endpoint_delete(endpoint=endpoint)

    assert webhook_deliver(delivery_id=first.pk) is None
    assert receiver.received == []


def test_two_workers_send_a_delivery_once(postgres, transactional_db, user, quick_settings, receiver):
    EndpointFactory(owner=user, url=receiver.url)
    publish(user)
    pk = Delivery.objects.get().pk

    results = run_at_once([lambda: webhook_deliver(delivery_id=pk)] * 4)

    assert len([r for r in results if r is not None]) == 1
    assert len(receiver.received) == 1


def test_a_slow_endpoint_holds_one_slot_and_others_go_on(
    postgres, transactional_db, user, quick_settings, make_receiver
):
    slow = make_receiver(hang=threading.Event())
    fast = make_receiver()
    EndpointFactory(owner=user, url=slow.url)
    EndpointFactory(owner=user, url=fast.url)
    publish(user)
    publish(user)
    slow_ids = list(Delivery.objects.filter(endpoint__url=slow.url).order_by("pk").values_list("pk", flat=True))
    fast_ids = list(Delivery.objects.filter(endpoint__url=fast.url).order_by("pk").values_list("pk", flat=True))
    sending = threading.Thread(target=run_at_once, args=([lambda: webhook_deliver(delivery_id=slow_ids[0])],))
    sending.start()
    slow.wait_for(1)

    second_slow = webhook_deliver(delivery_id=slow_ids[1])
    first_fast = webhook_deliver(delivery_id=fast_ids[0])

    slow.hang.set()
    sending.join(10)
    assert second_slow is None  # waits for the slot: the send holding it goes on with it
    assert first_fast.succeeded
    assert len(fast.received) == 2  # the second went out in the same task, while it held the slot
    assert Delivery.objects.filter(pk__in=fast_ids, status=DeliveryStatus.SUCCEEDED).count() == 2


def test_a_send_hands_the_endpoints_rest_to_new_messages_past_its_budget(
    user, quick_settings, receiver, django_capture_on_commit_callbacks
):
    quick_settings.WEBHOOKS_DRAIN_SECONDS = 0
    EndpointFactory(owner=user, url=receiver.url)
    for _ in range(3):
        publish(user)
    first = Delivery.objects.order_by("pk").first()

    webhook_deliver(delivery_id=first.pk)

    assert len(receiver.received) == 1
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 2


def test_an_attempt_left_by_a_dead_worker_is_closed_as_abandoned(user, quick_settings, receiver):
    EndpointFactory(owner=user, url=receiver.url)
    publish(user)
    delivery = Delivery.objects.get()
    DeliveryAttempt.objects.create(delivery=delivery, endpoint=delivery.endpoint, event=delivery.event, number=1)
    Delivery.objects.filter(pk=delivery.pk).update(attempts=1, claimed_until=timezone.now() - timedelta(seconds=1))

    attempt = webhook_deliver(delivery_id=delivery.pk)

    first = DeliveryAttempt.objects.get(number=1)
    assert first.error.startswith("abandoned")
    assert (attempt.number, attempt.succeeded) == (2, True)


def test_the_sweeper_publishes_overdue_deliveries_once(user, quick_settings, broker_down):
    EndpointFactory(owner=user)
    publish(user)

    assert webhook_sweep() == []  # the broker is down: the row stays due


def test_the_sweeper_skips_what_is_not_yet_due_or_held(user, quick_settings, settings):
    settings.WEBHOOKS_SWEEP_AFTER_SECONDS = 60
    EndpointFactory(owner=user)
    publish(user)

    assert webhook_sweep() == []


def test_the_retry_schedule_lasts_at_least_a_day_by_default(settings):
    from config.settings import base

    settings.WEBHOOKS_RETRY_SCHEDULE = base.WEBHOOKS_RETRY_SCHEDULE
    waits = [retry_delay(attempt=n) for n in range(1, len(base.WEBHOOKS_RETRY_SCHEDULE) + 2)]

    assert waits[-1] is None
    assert sum(waits[:-1]) >= 24 * 3600
    assert all(b > a for a, b in itertools.pairwise(waits[:-1]))


def test_the_body_is_utf8_json(user, quick_settings, receiver):
    EndpointFactory(owner=user, url=receiver.url)
    publish(user, data={"name": "Привет"})

    webhook_deliver(delivery_id=Delivery.objects.get().pk)

    assert json.loads(receiver.received[0].body.decode("utf-8"))["data"] == {"name": "Привет"}


def test_due_deliveries_are_a_metrics_backlog(user):
    from config.backlog import backlog_gauges

    (gauge,) = [g for g in backlog_gauges() if g.name == "webhook_deliveries_due"]
    EndpointFactory(owner=user)
    publish(user)
    publish(user)
    Delivery.objects.filter(pk=Delivery.objects.order_by("pk").first().pk).update(
        next_attempt_at=timezone.now() + timedelta(hours=1)
    )

    assert gauge.read() == 1
