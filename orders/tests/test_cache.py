"""Product list and order detail cached in real Memcached, never stale, never an error when it is down."""

import socket
import uuid
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from conftest import free_port
from orders.models import Order, OrderItem, Product
from orders.services import OrderLineIn, order_create, order_notify_shipping, order_receipt_generate
from orders.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

PRODUCTS = reverse("orders-api:product-list")
ORDERS = reverse("orders-api:order-list")

OPTIONS = {"ignore_exc": True, "connect_timeout": 0.3, "timeout": 0.3, "retry_attempts": 1, "dead_timeout": 5}


def _point_cache_at(settings, location: str) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "config.memcached.PersistentPyMemcacheCache",
            "LOCATION": location,
            # A fresh prefix per test: no need to flush a memcached others use too.
            "KEY_PREFIX": f"orders-test-{uuid.uuid4().hex}",
            "OPTIONS": OPTIONS,
        },
    }


@pytest.fixture
def memcached(settings, memcached_url):
    _point_cache_at(settings, memcached_url.split("://", 1)[1])
    probe = f"probe-{uuid.uuid4().hex}"
    cache.set(probe, 1)
    assert cache.get(probe) == 1, "memcached at MEMCACHED_URL does not answer"
    return cache


@pytest.fixture
def memcached_down(settings):
    """A port with nothing listening, as when memcached is stopped."""
    _point_cache_at(settings, f"127.0.0.1:{free_port()}")


@pytest.fixture
def memcached_frozen(settings):
    """A server that accepts connections and never answers, as when memcached hangs."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(100)
    _point_cache_at(settings, f"127.0.0.1:{sock.getsockname()[1]}")
    yield
    sock.close()


def order_url(pk):
    return reverse("orders-api:order-detail", args=[pk])


def place(user, product, quantity=1):
    return order_create(user=user, lines=[OrderLineIn(product_id=product.pk, quantity=quantity)])


def get(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == HTTPStatus.OK, response.content
    return response["X-Cache"], response.json()


def test_product_list_miss_then_hit(memcached, auth_client, django_assert_num_queries):
    ProductFactory.create_batch(3)

    first = get(auth_client, PRODUCTS)
    with django_assert_num_queries(0):  # the JWT's user and the page both come from memcached
        second = get(auth_client, PRODUCTS)

    assert (first[0], second[0]) == ("miss", "hit")
    assert first[1] == second[1]
    assert first[1]["count"] == 3


def test_product_list_key_ignores_parameter_order_and_separates_queries(memcached, auth_client):
    ProductFactory(category="books")
    ProductFactory(category="toys")

    first = get(auth_client, PRODUCTS, category="books", page_size=5)
    same = auth_client.get(f"{PRODUCTS}?page_size=5&category=books")
    other = get(auth_client, PRODUCTS, category="toys")

    assert (first[0], same["X-Cache"], other[0]) == ("miss", "hit", "miss")
    assert [p["category"] for p in other[1]["results"]] == ["toys"]


def _change_by_api_patch(staff_client, product, user):
    staff_client.patch(reverse("orders-api:product-detail", args=[product.pk]), {"stock": 99})


def _change_by_api_create(staff_client, product, user):
    body = {"name": "New", "price": "1.00", "stock": 1, "category": "toys"}
    assert staff_client.post(PRODUCTS, body).status_code == HTTPStatus.CREATED


def _change_by_api_delete(staff_client, product, user):
    staff_client.delete(reverse("orders-api:product-detail", args=[product.pk]))


def _change_by_orm_save(staff_client, product, user):
    product.name = "Renamed in the shell"
    product.save()


def _change_by_django_admin(staff_client, product, user):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:orders_product_change", args=[product.pk]),
        {"name": "Renamed in admin", "description": "", "price": "10.00", "stock": 7, "category": "books"},
    )
    assert response.status_code == HTTPStatus.FOUND, response.content


def _change_by_order(staff_client, product, user):
    place(user, product, 4)


def _change_by_cancellation(staff_client, product, user):
    order = Order.objects.get()
    from orders.services import order_status_change

    order_status_change(order=order, actor=user, status="cancelled")


@pytest.mark.parametrize(
    "change",
    [
        _change_by_api_patch,
        _change_by_api_create,
        _change_by_api_delete,
        _change_by_orm_save,
        _change_by_django_admin,
        _change_by_order,
        _change_by_cancellation,
    ],
)
def test_product_list_invalidated_by_every_change(memcached, auth_client, staff_client, user, change):
    product = ProductFactory(stock=10)
    if change is _change_by_cancellation:
        place(user, product, 3)
    get(auth_client, PRODUCTS)
    assert get(auth_client, PRODUCTS)[0] == "hit"

    change(staff_client, product, user)
    state, body = get(auth_client, PRODUCTS)

    assert state == "miss"
    expected = [(p.pk, p.name, p.stock) for p in Product.objects.order_by("pk")]
    assert [(p["id"], p["name"], p["stock"]) for p in body["results"]] == expected


def test_order_detail_miss_then_hit(memcached, auth_client, user, django_assert_num_queries):
    order = place(user, ProductFactory())

    first = get(auth_client, order_url(order.pk))
    # Only the ownership check: the JWT's user, the order, its lines and attempts come from memcached.
    with django_assert_num_queries(1):
        second = get(auth_client, order_url(order.pk))

    assert (first[0], second[0]) == ("miss", "hit")
    assert first[1] == second[1]


def test_cached_order_is_never_served_to_another_user(memcached, auth_client, other_client, user):
    order = place(user, ProductFactory())
    get(auth_client, order_url(order.pk))
    assert get(auth_client, order_url(order.pk))[0] == "hit"

    response = other_client.get(order_url(order.pk))

    assert (response.status_code, response.json()) == (
        HTTPStatus.NOT_FOUND,
        {"detail": "No order with this id among your orders."},
    )


def _order_by_status_change(staff_client, order, shipping_api):
    staff_client.patch(order_url(order.pk), {"status": "processing"})


def _order_by_receipt(staff_client, order, shipping_api):
    order_receipt_generate(order_id=order.pk)  # a conditional UPDATE, no signal


def _order_by_shipping_attempt(staff_client, order, shipping_api):
    shipping_api(failures=0)
    Order.objects.filter(pk=order.pk).update(shipping_status="pending")
    order_notify_shipping(order_id=order.pk, final_attempt=False)


def _order_by_item_edit(staff_client, order, shipping_api):
    item = OrderItem.objects.get(order=order)
    item.product_name = "Corrected name"
    item.save()


def _order_by_admin_save(staff_client, order, shipping_api):
    order.status = "processing"
    order.save()


@pytest.mark.parametrize(
    "change",
    [_order_by_status_change, _order_by_receipt, _order_by_shipping_attempt, _order_by_item_edit, _order_by_admin_save],
)
def test_order_detail_invalidated_by_every_change(memcached, auth_client, staff_client, user, shipping_api, change):
    order = place(user, ProductFactory())
    get(auth_client, order_url(order.pk))
    assert get(auth_client, order_url(order.pk))[0] == "hit"

    change(staff_client, order, shipping_api)
    state, body = get(auth_client, order_url(order.pk))

    assert state == "miss"
    fresh = Order.objects.get(pk=order.pk)
    item = fresh.items.get()
    assert (body["status"], body["receipt_ready"], body["shipping_status"], body["items"][0]["product_name"]) == (
        fresh.status,
        bool(fresh.receipt),
        fresh.shipping_status,
        item.product_name,
    )
    assert len(body["shipping_attempts"]) == fresh.shipping_attempts.count()


def test_regenerated_generation_after_eviction_is_new(memcached, auth_client):
    ProductFactory(stock=1)
    get(auth_client, PRODUCTS)
    cache.delete("orders:products:gen")  # evicted, expired, or memcached restarted

    state, _ = get(auth_client, PRODUCTS)

    assert state == "miss"


@pytest.mark.parametrize("broken", ["memcached_down", "memcached_frozen"])
def test_api_answers_correctly_when_memcached_is_unavailable(request, broken, auth_client, user):
    request.getfixturevalue(broken)
    product = ProductFactory(stock=5, price=Decimal("3.00"))

    listed = [get(auth_client, PRODUCTS) for _ in range(2)]
    created = auth_client.post(ORDERS, {"items": [{"product": product.pk, "quantity": 2}]}, format="json")
    listed_after = get(auth_client, PRODUCTS)
    detail = [get(auth_client, order_url(created.json()["id"])) for _ in range(2)]
    cancelled = auth_client.patch(order_url(created.json()["id"]), {"status": "cancelled"})
    detail_after = get(auth_client, order_url(created.json()["id"]))

    assert [state for state, _ in listed] == ["miss", "miss"]
    assert created.status_code == HTTPStatus.CREATED
    assert listed_after[1]["results"][0]["stock"] == 3
    assert [state for state, _ in detail] == ["miss", "miss"]
    assert detail[0][1]["total_price"] == "6.00"
    assert cancelled.status_code == HTTPStatus.OK
    assert detail_after[1]["status"] == "cancelled"
    assert Product.objects.get().stock == 5


def test_answer_built_while_a_change_commits_is_never_served(memcached):
    from config.cache import _generation_bump
    from orders.cache import order_detail_slot

    slow_reader = order_detail_slot(1)
    assert slow_reader.get() is None  # reads the generation, then the (old) rows
    _generation_bump(slow_reader.generation_key)  # a change commits meanwhile
    slow_reader.set({"stock": "old"})

    assert order_detail_slot(1).get() is None
    fresh = order_detail_slot(1)
    fresh.get()
    fresh.set({"stock": "new"})
    assert order_detail_slot(1).get() == {"stock": "new"}
