"""Idempotency-Key on POST /api/orders/ and POST /api/upload/: a retry replays the
first answer and does nothing twice; another body is a 422, a key in use a 409."""

import hashlib
import json
import threading
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from accounts.tests.factories import UserFactory
from config.idempotency import fingerprint, idempotent
from config.models import IdempotencyKey
from config.tasks import idempotency_keys_expire_task
from conftest import jwt_client, run_at_once, wait_until
from files.models import File
from orders.models import Order, Product
from orders.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

ORDERS = reverse("orders-api:order-list")
UPLOAD = reverse("files-api:upload")
REPLAYED = "Idempotent-Replayed"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _order(client, items, key: str | None = "order-1"):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(ORDERS, {"items": items}, format="json", **headers)


def _upload(client, data: bytes, name: str = "notes.txt", key: str = "upload-1"):
    file = SimpleUploadedFile(name, data, "text/plain")
    return client.post(UPLOAD, {"file": file}, format="multipart", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retried_order_replays_the_first_answer_and_orders_once(auth_client):
    product = ProductFactory(stock=5, price=Decimal("10.00"))
    items = [{"product": product.pk, "quantity": 2}]

    first = _order(auth_client, items)
    retry = _order(auth_client, items)

    assert first.status_code == retry.status_code == HTTPStatus.CREATED
    assert retry.content == first.content
    assert (REPLAYED in first, retry[REPLAYED]) == (False, "true")
    product.refresh_from_db()
    assert (Order.objects.count(), product.stock) == (1, 3)


def test_the_same_json_value_in_another_spelling_is_the_same_body(auth_client):
    product = ProductFactory(stock=5)
    first = _order(auth_client, [{"product": product.pk, "quantity": 1}])

    retry = auth_client.post(
        ORDERS,
        data=f'{{ "items" : [ {{"quantity": 1, "product": {product.pk}}} ] }}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="order-1",
    )

    assert (retry.status_code, retry[REPLAYED], retry.content) == (HTTPStatus.CREATED, "true", first.content)
    assert Order.objects.count() == 1


def test_a_refusal_is_replayed_too_even_once_it_would_succeed(auth_client):
    product = ProductFactory(stock=1)
    items = [{"product": product.pk, "quantity": 2}]
    first = _order(auth_client, items)
    assert first.status_code == HTTPStatus.BAD_REQUEST
    Product.objects.filter(pk=product.pk).update(stock=10)

    retry = _order(auth_client, items)

    assert (retry.status_code, retry[REPLAYED], retry.json()) == (HTTPStatus.BAD_REQUEST, "true", first.json())
    assert not Order.objects.exists()


def test_another_body_under_the_same_key_is_a_422(auth_client):
    product = ProductFactory(stock=5)
    _order(auth_client, [{"product": product.pk, "quantity": 1}])

    response = _order(auth_client, [{"product": product.pk, "quantity": 2}])

    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response.json() == {
        "detail": "This Idempotency-Key was used with a different request body; use a new key for a new request."
    }
    assert REPLAYED not in response
    assert Order.objects.count() == 1


def test_keys_are_per_user_and_per_endpoint(auth_client, other_client):
    product = ProductFactory(stock=5)
    items = [{"product": product.pk, "quantity": 1}]
    _order(auth_client, items, key="shared")

    theirs = _order(other_client, items, key="shared")
    upload = _upload(auth_client, b"hello\n", key="shared")

    assert (theirs.status_code, REPLAYED in theirs) == (HTTPStatus.CREATED, False)
    assert (upload.status_code, REPLAYED in upload) == (HTTPStatus.CREATED, False)
    assert Order.objects.count() == 2


def test_without_the_header_every_post_places_an_order(auth_client):
    product = ProductFactory(stock=5)
    items = [{"product": product.pk, "quantity": 1}]

    codes = [_order(auth_client, items, key=None).status_code for _ in range(2)]

    assert codes == [HTTPStatus.CREATED] * 2
    assert (Order.objects.count(), IdempotencyKey.objects.count()) == (2, 0)


@pytest.mark.parametrize(
    "key",
    ["", "k" * 256, "tab\there", "del\x7f", "ключ".encode().decode("latin-1")],
    ids=["empty", "256 characters", "control", "DEL", "not ASCII"],
)
def test_a_malformed_key_is_a_400_and_does_nothing(auth_client, key):
    product = ProductFactory(stock=5)

    response = _order(auth_client, [{"product": product.pk, "quantity": 1}], key=key)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["detail"].startswith("Idempotency-Key must be 1-255 printable ASCII characters")
    assert (Order.objects.count(), IdempotencyKey.objects.count()) == (0, 0)


@pytest.mark.parametrize("key", ["k" * 255, "a", "order 7 / retry ~!"])
def test_keys_of_1_to_255_printable_characters_are_accepted(auth_client, key):
    product = ProductFactory(stock=5)

    response = _order(auth_client, [{"product": product.pk, "quantity": 1}], key=key)

    assert response.status_code == HTTPStatus.CREATED
    assert IdempotencyKey.objects.get().key == key


def test_a_retried_upload_stores_the_file_once(auth_client):
    data = "Привет, мир\n".encode()

    first = _upload(auth_client, data)
    retry = _upload(auth_client, data)
    other_bytes = _upload(auth_client, data + b"!")
    other_name = _upload(auth_client, data, name="renamed.txt")

    assert (first.status_code, retry.status_code, retry[REPLAYED]) == (HTTPStatus.CREATED, HTTPStatus.CREATED, "true")
    assert retry.content == first.content
    assert other_bytes.status_code == other_name.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert list(File.objects.values_list("sha256", flat=True)) == [hashlib.sha256(data).hexdigest()]


def test_an_upload_fingerprint_holds_the_files_bytes(rf):
    """The hash the upload handlers computed is the file's SHA-256 (hashlib as the
    oracle), so the fingerprint changes with any byte of the file."""
    from files.api.views import FileUploadApi

    def fingerprint_of(data: bytes) -> str:
        view = FileUploadApi()
        django_request = rf.post(UPLOAD, {"file": SimpleUploadedFile("a.bin", data), "note": "x"})
        request = view.initialize_request(django_request)
        assert request.data["file"].sha256 == hashlib.sha256(data).hexdigest()
        return fingerprint(request)

    assert fingerprint_of(b"a" * 10) == fingerprint_of(b"a" * 10) != fingerprint_of(b"a" * 9 + b"b")


def test_an_expired_key_is_a_new_key(auth_client):
    product = ProductFactory(stock=5)
    items = [{"product": product.pk, "quantity": 1}]
    _order(auth_client, items)
    day_ago = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS)
    IdempotencyKey.objects.update(created_at=day_ago)

    again = _order(auth_client, items)

    assert (again.status_code, REPLAYED in again) == (HTTPStatus.CREATED, False)
    assert Order.objects.count() == 2


def test_the_beat_task_deletes_keys_older_than_a_day(user):
    now = timezone.now()
    ages = {"old": timedelta(hours=24, seconds=1), "young": timedelta(hours=23, minutes=59)}
    for key, age in ages.items():
        IdempotencyKey.objects.create(user=user, endpoint="orders.order-create", key=key, created_at=now - age)

    idempotency_keys_expire_task()

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["young"]
    schedule = settings.CELERY_BEAT_SCHEDULE["idempotency-keys-expire"]
    assert schedule["task"] == idempotency_keys_expire_task.name


def test_a_key_held_by_a_request_that_died_is_taken_over(auth_client, user):
    """A claim whose hold has lapsed (the request died, its work rolled back) does not
    lock the key forever: the next request runs and its answer is kept."""
    product = ProductFactory(stock=5)
    items = [{"product": product.pk, "quantity": 1}]
    IdempotencyKey.objects.create(
        user=user,
        endpoint="orders.order-create",
        key="order-1",
        fingerprint=_fingerprint_of_order(auth_client, items),
        claim="dead" * 8,
        locked_until=timezone.now() - timedelta(seconds=1),
    )

    response = _order(auth_client, items)
    retry = _order(auth_client, items)

    assert (response.status_code, REPLAYED in response) == (HTTPStatus.CREATED, False)
    assert (retry[REPLAYED], Order.objects.count()) == ("true", 1)


def _fingerprint_of_order(client, items) -> str:
    """The fingerprint of an order body, from a request that used a throwaway key."""
    _order(client, items, key="probe")
    row = IdempotencyKey.objects.get(key="probe")
    Order.objects.all().delete()
    return row.fingerprint


def test_an_idempotent_request_with_an_api_key(auth_client, user):
    key = auth_client.post(reverse("auth:api-key-list"), {"name": "shop sync"}).json()["key"]
    product = ProductFactory(stock=5)
    client = jwt_client(user)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    codes = [_order(client, [{"product": product.pk, "quantity": 1}]).status_code for _ in range(2)]

    assert codes == [HTTPStatus.CREATED] * 2
    assert (Order.objects.filter(user=user).count(), IdempotencyKey.objects.get().user) == (1, user)


# --- Real concurrency (PostgreSQL) -------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_order_once(postgres):
    user = UserFactory()
    product = ProductFactory(stock=100)
    items = [{"product": product.pk, "quantity": 1}]
    clients = [jwt_client(user) for _ in range(2)]

    responses = run_at_once([lambda c=c: _order(c, items, key="at-once") for c in clients])

    codes = sorted(r.status_code for r in responses)
    # The second finds the first still running (409) or finished (its answer replayed).
    assert codes in ([HTTPStatus.CREATED, HTTPStatus.CONFLICT], [HTTPStatus.CREATED, HTTPStatus.CREATED])
    if codes == [HTTPStatus.CREATED] * 2:
        assert sorted(r.get(REPLAYED, "") for r in responses) == ["", "true"]
        assert responses[0].content == responses[1].content
    product.refresh_from_db()
    assert (Order.objects.count(), product.stock) == (1, 99)


@pytest.mark.django_db(transaction=True)
def test_a_request_while_the_first_still_runs_is_a_409_then_the_answer_is_replayed(postgres, user):
    """The first request is held inside its order transaction by a lock this test
    takes on the product row; meanwhile the same key is a 409, and once the first
    has answered, a retry gets that answer."""
    product = ProductFactory(stock=5)
    items = [{"product": product.pk, "quantity": 1}]
    locked, release = threading.Event(), threading.Event()

    def hold_product() -> None:
        try:
            with transaction.atomic():
                Product.objects.select_for_update().get(pk=product.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_product)
    holder.start()
    assert locked.wait(10)
    first: dict = {}
    runner = threading.Thread(target=lambda: first.update(response=_order(jwt_client(user), items, key="slow")))
    runner.start()
    try:
        wait_until(lambda: IdempotencyKey.objects.filter(key="slow").exists())

        during = _order(jwt_client(user), items, key="slow")
    finally:
        release.set()
        holder.join(10)
        runner.join(30)

    after = _order(jwt_client(user), items, key="slow")
    assert during.status_code == HTTPStatus.CONFLICT
    assert during.json()["detail"].startswith("A request with this Idempotency-Key is still running")
    assert first["response"].status_code == HTTPStatus.CREATED
    assert (after.status_code, after[REPLAYED], after.content) == (
        HTTPStatus.CREATED,
        "true",
        first["response"].content,
    )
    assert Order.objects.count() == 1


def test_the_stored_answer_is_the_json_the_client_got(auth_client):
    product = ProductFactory(stock=5)

    response = _order(auth_client, [{"product": product.pk, "quantity": 1}])

    row = IdempotencyKey.objects.get()
    assert (row.response_status, row.response_content_type) == (HTTPStatus.CREATED, "application/json")
    assert json.loads(bytes(row.response_body)) == response.json()


class _Failing(APIView):
    """A view on the seam whose work (a row) is followed by a failure on our side."""

    outcome = "503"

    @idempotent("tests.failing")
    def post(self, request):
        IdempotencyKey.objects.create(user=request.user, endpoint="tests.work", key=request.data["work"])
        if self.outcome == "503":
            return Response({"detail": "Storage unreachable."}, status=HTTPStatus.SERVICE_UNAVAILABLE)
        raise RuntimeError("a bug")


@pytest.mark.parametrize("outcome", ["503", "exception"])
def test_a_failure_on_our_side_keeps_nothing_and_frees_the_key(user, outcome):
    request = APIRequestFactory().post("/", {"work": "w1"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    force_authenticate(request, user=user)
    view = _Failing.as_view(outcome=outcome)

    if outcome == "503":
        assert view(request).status_code == HTTPStatus.SERVICE_UNAVAILABLE
    else:
        with pytest.raises(RuntimeError):
            view(request)

    assert not IdempotencyKey.objects.exists()  # neither the work nor the claim
