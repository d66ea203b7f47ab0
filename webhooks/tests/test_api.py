"""The webhooks API: endpoints, their secret, ownership, bad input, SSRF refusal, the log."""

import base64
from datetime import datetime
from http import HTTPStatus

import pytest
from django.urls import reverse

from webhooks.models import SUBSCRIBABLE, Delivery, DeliveryAttempt, DeliveryStatus, Endpoint, Event
from webhooks.tests.factories import EndpointFactory
from webhooks.transport import UrlRefused, url_target

pytestmark = pytest.mark.django_db

LIST = reverse("webhooks-api:endpoint-list")


def detail(pk: int) -> str:
    return reverse("webhooks-api:endpoint-detail", args=[pk])


@pytest.fixture(autouse=True)
def _private_allowed(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = True


def test_create_answers_the_secret_once(auth_client, user):
    response = auth_client.post(LIST, {"url": "https://hooks.example.com/in", "events": ["order.created"]})

    body = response.json()
    assert response.status_code == HTTPStatus.CREATED
    assert list(body) == ["id", "url", "events", "active", "secret", "created_at"]
    assert (body["url"], body["events"], body["active"]) == ("https://hooks.example.com/in", ["order.created"], True)
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"), validate=True)) >= 24
    datetime.fromisoformat(body["created_at"])
    listed = auth_client.get(LIST).json()
    shown = auth_client.get(detail(body["id"])).json()
    assert listed["count"] == 1
    assert listed["results"] == [shown]
    assert "secret" not in shown
    assert Endpoint.objects.get().owner == user


def test_two_endpoints_get_different_secrets(auth_client):
    payload = {"url": "https://hooks.example.com/in", "events": ["file.processed"]}

    first = auth_client.post(LIST, payload).json()["secret"]
    second = auth_client.post(LIST, payload).json()["secret"]

    assert first != second


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "https://hooks.example.com/", "events": ["order.shipped"]}, "events"),
        ({"url": "https://hooks.example.com/", "events": ["webhook.test"]}, "events"),
        ({"url": "https://hooks.example.com/", "events": []}, "events"),
        ({"url": "https://hooks.example.com/", "events": "order.created"}, "events"),
        ({"url": "ftp://hooks.example.com/", "events": ["order.created"]}, "url"),
        ({"url": "file:///etc/passwd", "events": ["order.created"]}, "url"),
        ({"url": "javascript:alert(1)", "events": ["order.created"]}, "url"),
        ({"url": "hooks.example.com", "events": ["order.created"]}, "url"),
        ({"url": "https://user:pw@hooks.example.com/", "events": ["order.created"]}, "url"),
        ({"url": "https://hooks.example.com:70000/", "events": ["order.created"]}, "url"),
        ({"url": " https://hooks.example.com/", "events": ["order.created"]}, "url"),
        ({"events": ["order.created"]}, "url"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(auth_client, payload, field):
    response = auth_client.post(LIST, payload, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()
    assert not Endpoint.objects.exists()


def test_duplicate_event_types_are_merged(auth_client):
    response = auth_client.post(
        LIST, {"url": "http://127.0.0.1:9/", "events": ["order.created", "file.failed", "order.created"]}
    )

    assert response.json()["events"] == ["order.created", "file.failed"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8000/hook",
        "http://10.0.0.5/",
        "http://192.168.1.1/",
        "http://172.16.3.4/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.200/",  # shared address space (a cloud metadata address)
        "http://0.0.0.0/",
    ],
)
def test_internal_addresses_are_refused_unless_allowed(auth_client, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = False

    response = auth_client.post(LIST, {"url": url, "events": ["order.created"]})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "url" in response.json()
    assert not Endpoint.objects.exists()
    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = True
    assert auth_client.post(LIST, {"url": url, "events": ["order.created"]}).status_code == HTTPStatus.CREATED


@pytest.mark.parametrize(
    "url", ["http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[fd00:ec2::254]/", "http://[fe80::1]:8080/"]
)
def test_internal_ipv6_addresses_are_refused_at_delivery(url):
    with pytest.raises(UrlRefused, match="webhooks go to public addresses only"):
        url_target(url, allow_private=False)


def test_a_public_address_is_taken():
    assert url_target("http://93.184.215.14:8080/in?x=1", allow_private=False).address == "93.184.215.14"


def test_an_unresolvable_host_is_refused_when_addresses_are_checked(auth_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = False

    response = auth_client.post(LIST, {"url": "https://no-such-host.invalid/", "events": ["order.created"]})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "could not be resolved" in response.json()["url"][0]


def test_patch_to_an_internal_address_is_refused_and_changes_nothing(auth_client, user, settings):
    endpoint = EndpointFactory(owner=user, url="http://127.0.0.1:9/a/")
    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = False

    response = auth_client.patch(detail(endpoint.pk), {"url": "http://169.254.169.254/", "active": False})

    endpoint.refresh_from_db()
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert (endpoint.url, endpoint.active) == ("http://127.0.0.1:9/a/", True)


@pytest.mark.parametrize("value", [0, 1, "true", "false", None])
def test_active_takes_json_booleans_only(auth_client, user, value):
    endpoint = EndpointFactory(owner=user)

    response = auth_client.patch(detail(endpoint.pk), {"active": value}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "active" in response.json()


def test_patch_changes_events_and_active(auth_client, user):
    endpoint = EndpointFactory(owner=user)

    response = auth_client.patch(detail(endpoint.pk), {"events": ["file.failed"], "active": False})

    assert response.status_code == HTTPStatus.OK
    assert (response.json()["events"], response.json()["active"]) == (["file.failed"], False)


def test_deactivating_cancels_pending_retries(auth_client, user):
    endpoint = EndpointFactory(owner=user)
    event = Event.objects.create(id="evt_1", owner=user, type="order.created", data={})
    Delivery.objects.create(event=event, endpoint=endpoint)

    auth_client.patch(detail(endpoint.pk), {"active": False})
    auth_client.patch(detail(endpoint.pk), {"active": True})

    assert Delivery.objects.get().status == DeliveryStatus.CANCELLED


def test_delete_removes_the_endpoint(auth_client, user):
    endpoint = EndpointFactory(owner=user)

    response = auth_client.delete(detail(endpoint.pk))

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert auth_client.get(detail(endpoint.pk)).status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("patch", ""), ("delete", ""), ("post", "test/"), ("get", "deliveries/")],
)
def test_another_users_endpoint_is_a_404(other_client, user, method, suffix):
    endpoint = EndpointFactory(owner=user)

    response = getattr(other_client, method)(detail(endpoint.pk) + suffix, {"active": False})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert Endpoint.objects.get().active
    assert not Event.objects.exists()


def test_list_shows_only_own_endpoints(auth_client, user, other_user):
    mine = EndpointFactory(owner=user)
    EndpointFactory(owner=other_user)

    body = auth_client.get(LIST).json()

    assert [e["id"] for e in body["results"]] == [mine.pk]


def test_anonymous_is_a_401(api_client):
    assert api_client.get(LIST).status_code == HTTPStatus.UNAUTHORIZED


def test_test_event_ignores_the_event_list(auth_client, user, django_capture_on_commit_callbacks):
    endpoint = EndpointFactory(owner=user, events=["file.failed"])

    with django_capture_on_commit_callbacks() as callbacks:
        response = auth_client.post(reverse("webhooks-api:endpoint-test", args=[endpoint.pk]))

    body = response.json()
    assert response.status_code == HTTPStatus.ACCEPTED
    assert (body["type"], body["data"]) == ("webhook.test", auth_client.get(detail(endpoint.pk)).json())
    assert isinstance(body["id"], str)
    delivery = Delivery.objects.get()
    assert (delivery.event_id, delivery.endpoint_id, len(callbacks)) == (body["id"], endpoint.pk, 1)


def test_test_event_to_an_inactive_endpoint_is_a_409(auth_client, user):
    endpoint = EndpointFactory(owner=user, active=False)

    response = auth_client.post(reverse("webhooks-api:endpoint-test", args=[endpoint.pk]))

    assert response.status_code == HTTPStatus.CONFLICT
    assert not Event.objects.exists()


def test_deliveries_are_listed_newest_first_and_paginated(auth_client, user):
    endpoint = EndpointFactory(owner=user)
    event = Event.objects.create(id="evt_a", owner=user, type="order.created", data={})
    delivery = Delivery.objects.create(event=event, endpoint=endpoint, attempts=3)
    for number, (code, error) in enumerate([(500, "HTTP 500"), (None, "timeout"), (200, "")], start=1):
        DeliveryAttempt.objects.create(
            delivery=delivery,
            endpoint=endpoint,
            event=event,
            number=number,
            status_code=code,
            error=error,
            succeeded=code == 200,
            duration_ms=5,
            finished_at=event.created_at,
        )
    url = reverse("webhooks-api:endpoint-deliveries", args=[endpoint.pk])

    body = auth_client.get(url, {"page_size": 2}).json()

    assert body["count"] == 3
    assert body["next"] is not None
    assert [(r["attempt"], r["status_code"], r["error"], r["succeeded"]) for r in body["results"]] == [
        (3, 200, "", True),
        (2, None, "timeout", False),
    ]
    assert set(body["results"][0]) == {
        "id",
        "event_id",
        "type",
        "attempt",
        "succeeded",
        "status_code",
        "error",
        "duration_ms",
        "created_at",
    }
    assert (body["results"][0]["event_id"], body["results"][0]["type"]) == ("evt_a", "order.created")


def test_every_subscribable_type_is_accepted(auth_client):
    response = auth_client.post(LIST, {"url": "http://127.0.0.1:9/", "events": SUBSCRIBABLE})

    assert response.status_code == HTTPStatus.CREATED
