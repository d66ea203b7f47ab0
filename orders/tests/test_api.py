from decimal import Decimal
from http import HTTPStatus

import pytest
from django.urls import reverse

from orders.models import Order, OrderItem, OrderStatus, Product
from orders.services import OrderLineIn, order_create, order_receipt_generate
from orders.tests.factories import OrderItemFactory, ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("orders-api:product-list")
ORDERS = reverse("orders-api:order-list")
ADMIN_ORDERS = reverse("orders-api:admin-order-list")


def product_url(pk):
    return reverse("orders-api:product-detail", args=[pk])


def order_url(pk):
    return reverse("orders-api:order-detail", args=[pk])


def receipt_url(pk):
    return reverse("orders-api:order-receipt", args=[pk])


def product_json(p):
    return {
        "id": p.pk,
        "name": p.name,
        "description": p.description,
        "price": f"{p.price:.2f}",
        "stock": p.stock,
        "category": p.category,
        "created_at": p.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": p.updated_at.isoformat().replace("+00:00", "Z"),
    }


def place(user, *pairs):
    return order_create(user=user, lines=[OrderLineIn(product_id=p.pk, quantity=q) for p, q in pairs])


def stocks():
    return list(Product.objects.order_by("pk").values_list("stock", flat=True))


# --- Products ---------------------------------------------------------------------


def test_product_list_paginated(auth_client):
    products = [ProductFactory() for _ in range(3)]

    response = auth_client.get(PRODUCTS, {"page_size": 2})

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "count": 3,
        "next": "http://testserver/api/products/?page=2&page_size=2",
        "previous": None,
        "results": [product_json(p) for p in products[:2]],
    }


def test_product_list_page_size_is_capped(auth_client):
    ProductFactory.create_batch(105)

    response = auth_client.get(PRODUCTS, {"page_size": 1000})

    assert (response.json()["count"], len(response.json()["results"])) == (105, 100)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "books"}, ["Dune", "Emma"]),
        ({"min_price": "10", "max_price": "20"}, ["Emma", "Lamp"]),
        ({"min_price": "20.01"}, ["Dune"]),
        ({"search": "am"}, ["Lamp"]),
        ({"ordering": "-price"}, ["Dune", "Lamp", "Emma", "Ball"]),
        ({"ordering": "name", "category": "books", "max_price": "15"}, ["Emma"]),
    ],
)
def test_product_list_filters(auth_client, params, expected):
    ProductFactory(name="Dune", category="books", price=Decimal("25.00"))
    ProductFactory(name="Emma", category="books", price=Decimal("10.00"))
    ProductFactory(name="Lamp", category="home", price=Decimal("20.00"))
    ProductFactory(name="Ball", category="sports", price=Decimal("5.00"))

    response = auth_client.get(PRODUCTS, params)

    assert response.status_code == HTTPStatus.OK
    assert [p["name"] for p in response.json()["results"]] == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "weapons"}, "category"),
        ({"min_price": "cheap"}, "min_price"),
        ({"ordering": "secret"}, "ordering"),
    ],
)
def test_product_list_bad_filter_is_400(auth_client, params, field):
    response = auth_client.get(PRODUCTS, params)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()


def test_product_list_page_out_of_range_is_404(auth_client):
    response = auth_client.get(PRODUCTS, {"page": 5})

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_products_need_authentication(api_client):
    assert api_client.get(PRODUCTS).status_code == HTTPStatus.UNAUTHORIZED


def test_product_create_by_admin(staff_client):
    body = {"name": "Kettle", "description": "1.7 l", "price": "29.90", "stock": 4, "category": "home"}

    response = staff_client.post(PRODUCTS, body)

    assert response.status_code == HTTPStatus.CREATED
    product = Product.objects.get()
    assert response.json() == product_json(product)
    assert (product.name, product.price, product.stock) == ("Kettle", Decimal("29.90"), 4)


def test_product_create_by_customer_is_403(auth_client):
    body = {"name": "Kettle", "price": "29.90", "stock": 4, "category": "home"}

    response = auth_client.post(PRODUCTS, body)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "price": "0.00", "stock": 1, "category": "home"}, "price"),
        ({"name": "A", "price": "1.00", "stock": -1, "category": "home"}, "stock"),
        ({"name": "A", "price": "1.00", "stock": 1, "category": "weapons"}, "category"),
        ({"name": " ", "price": "1.00", "stock": 1, "category": "home"}, "name"),
        ({"name": "A\x00", "price": "1.00", "stock": 1, "category": "home"}, "name"),
        ({"name": "A", "description": "\x00", "price": "1.00", "stock": 1, "category": "home"}, "description"),
        ({"name": "A", "price": "123456789.00", "stock": 1, "category": "home"}, "price"),
        ({"price": "1.00", "stock": 1, "category": "home"}, "name"),
    ],
)
def test_product_create_bad_input_is_400(staff_client, body, field):
    response = staff_client.post(PRODUCTS, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()
    assert not Product.objects.exists()


def test_product_detail(auth_client):
    product = ProductFactory()

    response = auth_client.get(product_url(product.pk))

    assert (response.status_code, response.json()) == (HTTPStatus.OK, product_json(product))


def test_product_detail_missing_is_404(auth_client):
    response = auth_client.get(product_url(999))

    assert (response.status_code, response.json()) == (HTTPStatus.NOT_FOUND, {"detail": "No product with this id."})


def test_product_put_and_patch_by_admin(staff_client):
    product = ProductFactory(stock=1)

    put = staff_client.put(
        product_url(product.pk), {"name": "New", "description": "", "price": "5.00", "stock": 9, "category": "toys"}
    )
    patch = staff_client.patch(product_url(product.pk), {"stock": 0})

    product.refresh_from_db()
    assert (put.status_code, patch.status_code) == (HTTPStatus.OK, HTTPStatus.OK)
    assert patch.json() == product_json(product)
    assert (product.name, product.price, product.stock, product.category) == ("New", Decimal("5.00"), 0, "toys")


def test_product_put_requires_all_fields(staff_client):
    product = ProductFactory(stock=1)

    response = staff_client.put(product_url(product.pk), {"stock": 5})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    product.refresh_from_db()
    assert product.stock == 1


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_product_write_by_customer_is_403(auth_client, method):
    product = ProductFactory(stock=1)

    response = getattr(auth_client, method)(product_url(product.pk), {"stock": 5})

    assert response.status_code == HTTPStatus.FORBIDDEN
    product.refresh_from_db()
    assert product.stock == 1


def test_product_delete_by_admin(staff_client):
    product = ProductFactory()

    response = staff_client.delete(product_url(product.pk))

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not Product.objects.exists()


def test_product_delete_in_orders_is_409(staff_client):
    item = OrderItemFactory()

    response = staff_client.delete(product_url(item.product_id))

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json() == {
        "detail": f'Product {item.product_id} ("{item.product.name}") appears in orders and cannot be deleted; '
        "set its stock to 0 to stop selling it."
    }
    assert Product.objects.filter(pk=item.product_id).exists()


# --- Orders -------------------------------------------------------------------------


def test_order_create(auth_client, user):
    a = ProductFactory(price=Decimal("2.50"), stock=10, name="Pen")
    b = ProductFactory(price=Decimal("4.00"), stock=3, name="Pad")

    response = auth_client.post(
        ORDERS, {"items": [{"product": a.pk, "quantity": 2}, {"product": b.pk, "quantity": 3}]}, format="json"
    )

    assert response.status_code == HTTPStatus.CREATED
    order = Order.objects.get()
    assert response.json() == {
        "id": order.pk,
        "number": order.number,
        "user": user.pk,
        "status": "pending",
        "total_price": "17.00",
        "items": [
            {"product": a.pk, "product_name": "Pen", "quantity": 2, "price_at_purchase": "2.50", "line_total": "5.00"},
            {"product": b.pk, "product_name": "Pad", "quantity": 3, "price_at_purchase": "4.00", "line_total": "12.00"},
        ],
        "created_at": order.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": order.updated_at.isoformat().replace("+00:00", "Z"),
        "receipt_ready": False,
        "shipping_status": "not_requested",
        "shipping_error": "",
        "shipping_attempts": [],
    }
    assert stocks() == [8, 0]


def test_order_create_merges_duplicate_lines(auth_client):
    product = ProductFactory(stock=10)

    response = auth_client.post(
        ORDERS,
        {"items": [{"product": product.pk, "quantity": 2}, {"product": product.pk, "quantity": 3}]},
        format="json",
    )

    assert response.status_code == HTTPStatus.CREATED
    assert [(i["product"], i["quantity"]) for i in response.json()["items"]] == [(product.pk, 5)]
    assert stocks() == [5]


def test_order_create_insufficient_stock_is_400_and_writes_nothing(auth_client):
    plenty = ProductFactory(stock=10)
    scarce = ProductFactory(stock=1, name="Last lamp")

    response = auth_client.post(
        ORDERS,
        {"items": [{"product": plenty.pk, "quantity": 1}, {"product": scarce.pk, "quantity": 2}]},
        format="json",
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "detail": f'Not enough stock for "Last lamp" (product {scarce.pk}): 2 requested, 1 available.'
    }
    assert (stocks(), Order.objects.count(), OrderItem.objects.count()) == ([10, 1], 0, 0)


def test_order_create_unknown_product_is_400(auth_client):
    product = ProductFactory()

    response = auth_client.post(
        ORDERS,
        {"items": [{"product": product.pk, "quantity": 1}, {"product": 424242, "quantity": 1}]},
        format="json",
    )

    assert (response.status_code, response.json()) == (
        HTTPStatus.BAD_REQUEST,
        {"items": ["Product 424242 does not exist."]},
    )
    assert not Order.objects.exists()


def test_order_create_below_minimum_total_is_400(auth_client, settings):
    settings.ORDERS_MIN_TOTAL = Decimal("5.00")
    product = ProductFactory(price=Decimal("2.00"), stock=10)

    response = auth_client.post(ORDERS, {"items": [{"product": product.pk, "quantity": 2}]}, format="json")

    assert (response.status_code, response.json()) == (
        HTTPStatus.BAD_REQUEST,
        {"items": ["The order total 4.00 is below the minimum order total of 5.00."]},
    )
    assert (stocks(), Order.objects.count()) == ([10], 0)


@pytest.mark.parametrize(
    "items",
    [
        [{"product": 1, "quantity": 0}],
        [{"product": 1, "quantity": -2}],
        [{"product": 1, "quantity": "many"}],
        [{"product": 1, "quantity": 1.5}],
        [{"product": 1}],
        [{"quantity": 1}],
        [],
        "not a list",
        None,
    ],
)
def test_order_create_bad_items_is_400(auth_client, items):
    ProductFactory(id=1, stock=10)

    response = auth_client.post(ORDERS, {"items": items}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "items" in response.json()
    assert (stocks(), Order.objects.count()) == ([10], 0)


def test_order_create_missing_body_is_400(auth_client):
    response = auth_client.post(ORDERS, {}, format="json")

    assert (response.status_code, response.json()) == (HTTPStatus.BAD_REQUEST, {"items": ["This field is required."]})


def test_order_list_shows_only_own_orders(auth_client, user, other_user):
    product = ProductFactory(stock=10)
    mine = [place(user, (product, 1)), place(user, (product, 2))]
    place(other_user, (product, 1))

    response = auth_client.get(ORDERS)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert (body["count"], [o["id"] for o in body["results"]]) == (2, [mine[1].pk, mine[0].pk])


def test_order_detail_owner_and_admin(auth_client, staff_client, user):
    order = place(user, (ProductFactory(), 1))

    own = auth_client.get(order_url(order.pk))
    admin = staff_client.get(order_url(order.pk))

    assert (own.status_code, admin.status_code) == (HTTPStatus.OK, HTTPStatus.OK)
    assert own.json()["id"] == order.pk
    assert own.json() == admin.json()


def test_other_users_order_is_404(other_client, user):
    order = place(user, (ProductFactory(), 1))

    responses = [
        other_client.get(order_url(order.pk)),
        other_client.patch(order_url(order.pk), {"status": "cancelled"}),
        other_client.get(receipt_url(order.pk)),
    ]

    assert [r.status_code for r in responses] == [HTTPStatus.NOT_FOUND] * 3
    assert responses[0].json() == {"detail": "No order with this id among your orders."}
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING


def test_missing_order_is_404(staff_client):
    assert staff_client.get(order_url(12345)).status_code == HTTPStatus.NOT_FOUND


def test_owner_cancels_pending_order(auth_client, user):
    product = ProductFactory(stock=5)
    order = place(user, (product, 5))

    response = auth_client.patch(order_url(order.pk), {"status": "cancelled"})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "cancelled"
    assert stocks() == [5]


@pytest.mark.parametrize("target", ["processing", "shipped", "delivered", "pending"])
def test_owner_other_change_is_403(auth_client, user, target):
    order = place(user, (ProductFactory(stock=5), 2))

    response = auth_client.patch(order_url(order.pk), {"status": target})

    assert (response.status_code, response.json()) == (
        HTTPStatus.FORBIDDEN,
        {"detail": "You can only cancel your order; other status changes are made by the shop."},
    )
    assert (Order.objects.get().status, stocks()) == (OrderStatus.PENDING, [3])


def test_owner_cannot_cancel_processing_order(auth_client, user):
    order = place(user, (ProductFactory(stock=5), 2))
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PROCESSING)

    response = auth_client.patch(order_url(order.pk), {"status": "cancelled"})

    assert (response.status_code, response.json()) == (
        HTTPStatus.FORBIDDEN,
        {"detail": "Only a pending order can be cancelled by its owner; this order is processing."},
    )
    assert stocks() == [3]


def test_admin_workflow_through_the_api(staff_client, user):
    order = place(user, (ProductFactory(stock=5), 2))

    codes = [staff_client.patch(order_url(order.pk), {"status": s}).status_code for s in ("processing", "shipped")]

    assert codes == [HTTPStatus.OK, HTTPStatus.OK]
    order.refresh_from_db()
    assert (order.status, order.shipping_status) == (OrderStatus.SHIPPED, "pending")


def test_admin_invalid_transition_is_400(staff_client, user):
    order = place(user, (ProductFactory(stock=5), 2))

    response = staff_client.patch(order_url(order.pk), {"status": "delivered"})

    assert (response.status_code, response.json()) == (
        HTTPStatus.BAD_REQUEST,
        {"detail": "An order cannot move from pending to delivered; allowed: processing, cancelled."},
    )
    assert Order.objects.get().status == OrderStatus.PENDING


@pytest.mark.parametrize("body", [{"status": "lost"}, {}, {"status": None}])
def test_status_change_bad_body_is_400(staff_client, user, body):
    order = place(user, (ProductFactory(stock=5), 2))

    response = staff_client.patch(order_url(order.pk), body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "status" in response.json()
    assert Order.objects.get().status == OrderStatus.PENDING


def test_receipt_not_ready_is_404(auth_client, user):
    order = place(user, (ProductFactory(), 1))

    response = auth_client.get(receipt_url(order.pk))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "not ready" in response.json()["detail"]


def test_receipt_download(auth_client, user):
    order = place(user, (ProductFactory(), 1))
    order_receipt_generate(order_id=order.pk)

    response = auth_client.get(receipt_url(order.pk))

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="receipt-{order.number}.pdf"'
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert auth_client.get(order_url(order.pk)).json()["receipt_ready"] is True


# --- Admin list ----------------------------------------------------------------------


def test_admin_order_list_filters(staff_client, user, other_user):
    product = ProductFactory(stock=10)
    a, b, c = place(user, (product, 1)), place(user, (product, 1)), place(other_user, (product, 1))
    Order.objects.filter(pk=b.pk).update(status=OrderStatus.PROCESSING)

    everything = staff_client.get(ADMIN_ORDERS).json()
    by_user = staff_client.get(ADMIN_ORDERS, {"user": user.pk}).json()
    by_status = staff_client.get(ADMIN_ORDERS, {"status": "pending"}).json()
    both = staff_client.get(ADMIN_ORDERS, {"status": "pending", "user": other_user.pk}).json()

    assert [o["id"] for o in everything["results"]] == [c.pk, b.pk, a.pk]
    assert [o["id"] for o in by_user["results"]] == [b.pk, a.pk]
    assert [o["id"] for o in by_status["results"]] == [c.pk, a.pk]
    assert [o["id"] for o in both["results"]] == [c.pk]


def test_admin_order_list_bad_filter_is_400(staff_client):
    assert staff_client.get(ADMIN_ORDERS, {"status": "lost"}).status_code == HTTPStatus.BAD_REQUEST


def test_admin_order_list_for_customer_is_403(auth_client):
    assert auth_client.get(ADMIN_ORDERS).status_code == HTTPStatus.FORBIDDEN


def test_order_create_largest_amounts_fit(auth_client):
    product = ProductFactory(price=Decimal("99999999.99"), stock=10_000)

    response = auth_client.post(ORDERS, {"items": [{"product": product.pk, "quantity": 10_000}]}, format="json")

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["total_price"] == "999999999900.00"
    assert response.json()["items"][0]["line_total"] == "999999999900.00"


def test_order_create_quantity_above_limit_is_400(auth_client):
    product = ProductFactory(stock=100_000)

    response = auth_client.post(ORDERS, {"items": [{"product": product.pk, "quantity": 10_001}]}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"items": {"0": {"quantity": ["Ensure this value is less than or equal to 10000."]}}}
    assert stocks() == [100_000]
