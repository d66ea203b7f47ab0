"""Each product writes its events in the transaction of the change, with the object as
its API serializes it (compared with that API's own answer)."""

from decimal import Decimal
from http import HTTPStatus
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone

from codecheck.runner import CheckOutcome, FindingOut
from codecheck.services import check_record, code_file_claim_batch
from codecheck.tests.factories import CodeFileFactory
from deals.parsing import DealsFileError
from deals.services import deals_upload
from files.models import File
from files.services import file_process
from files.tests.factories import FileFactory
from orders.tests.factories import ProductFactory
from webhooks.models import Delivery, Event
from webhooks.tests.factories import EndpointFactory

pytestmark = pytest.mark.django_db

DEALS = b"customer,item,total,quantity,date\nbob,Gem,100,1,2024-01-01T10:00:00\nann,Gem,50.5,1,2024-01-02T10:00:00\n"


def only_event() -> Event:
    (event,) = Event.objects.all()
    return event


def test_order_created_and_status_changed(auth_client, user, staff_client):
    EndpointFactory(owner=user, events=["order.created", "order.status_changed"])
    product = ProductFactory(price=Decimal("3.50"))

    created = auth_client.post(reverse("orders-api:order-list"), {"items": [{"product": product.pk, "quantity": 2}]})
    order_url = reverse("orders-api:order-detail", args=[created.json()["id"]])
    staff_client.patch(order_url, {"status": "processing"})

    created_event, changed = Event.objects.order_by("created_at", "pk")
    assert (created_event.type, created_event.data) == ("order.created", created.json())
    assert changed.type == "order.status_changed"
    assert changed.data == {**auth_client.get(order_url).json(), "from": "pending", "to": "processing"}
    assert Delivery.objects.count() == 2


def test_a_refused_order_writes_no_event(auth_client, user):
    EndpointFactory(owner=user, events=["order.created"])
    product = ProductFactory(stock=1)

    response = auth_client.post(reverse("orders-api:order-list"), {"items": [{"product": product.pk, "quantity": 5}]})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not Event.objects.exists()


def test_an_invalid_transition_writes_no_event(auth_client, user, staff_client):
    EndpointFactory(owner=user, events=["order.status_changed"])
    created = auth_client.post(
        reverse("orders-api:order-list"), {"items": [{"product": ProductFactory().pk, "quantity": 1}]}
    )

    response = staff_client.patch(
        reverse("orders-api:order-detail", args=[created.json()["id"]]), {"status": "delivered"}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not Event.objects.exists()


def test_events_go_to_the_objects_owner_only(auth_client, user, other_user):
    EndpointFactory(owner=other_user, events=["order.created"])

    auth_client.post(reverse("orders-api:order-list"), {"items": [{"product": ProductFactory().pk, "quantity": 1}]})

    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("data", "kind", "status"),
    [
        (b"hello world\n", File.Kind.TEXT, "file.processed"),
        (b"\x89PNG\r\n\x1a\nbroken", File.Kind.IMAGE, "file.failed"),
    ],
)
def test_file_processed_or_failed(auth_client, user, data, kind, status):
    EndpointFactory(owner=user, events=["file.processed", "file.failed"])
    file = FileFactory(owner=user, data=data, kind=kind)

    file_process(file_id=file.pk)

    event = only_event()
    api = auth_client.get(reverse("files-api:file-detail", args=[file.pk])).json()
    relative = {key: value for key, value in api.items() if key not in ("file", "thumbnail")}
    assert event.type == status
    assert {key: value for key, value in event.data.items() if key not in ("file", "thumbnail")} == relative
    assert api["file"].endswith(event.data["file"])


def test_codecheck_check_completed(auth_client, user):
    EndpointFactory(owner=user, events=["codecheck.check.completed"])
    code_file = CodeFileFactory(owner=user)
    (claim,) = code_file_claim_batch(size=10)
    now = timezone.now()

    check = check_record(
        claim=claim,
        outcome=CheckOutcome(findings=[FindingOut(1, 1, "F401", "'os' imported but unused")]),
        started_at=now,
        finished_at=now,
    )

    event = only_event()
    checks = auth_client.get(reverse("codecheck-api:file-checks", args=[code_file.pk])).json()["results"]
    assert (event.type, event.data) == ("codecheck.check.completed", checks[0])
    assert event.data["id"] == check.pk


def test_deals_dataset_replaced_goes_to_the_uploader(auth_client, user, other_user):
    EndpointFactory(owner=user, events=["deals.dataset.replaced"])
    EndpointFactory(owner=other_user, events=["deals.dataset.replaced"])

    deals_upload(file=BytesIO(DEALS), user=user, name="deals.csv")

    event = only_event()
    assert (event.type, event.owner_id) == ("deals.dataset.replaced", user.pk)
    assert event.data == {"rows": 2, "response": auth_client.get(reverse("deals-api:deals")).json()["response"]}
    assert event.data["response"][0]["username"] == "bob"


def test_a_rejected_deals_file_writes_no_event(user):
    EndpointFactory(owner=user, events=["deals.dataset.replaced"])

    with pytest.raises(DealsFileError):
        deals_upload(file=BytesIO(b"customer,item\nbob,Gem\n"), user=user, name="bad.csv")

    assert not Event.objects.exists()
