"""The API accepts what its schema allows and refuses what it does not (cases
schemathesis found, kept here as plain regression tests)."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from orders.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("files-api:file-list", {"status": ""}),
        ("files-api:file-list", {"kind": ""}),
        ("orders-api:product-list", {"category": ""}),
        ("orders-api:admin-order-list", {"status": ""}),
        ("orders-api:admin-order-list", {"user": "1.5"}),
        ("orders-api:admin-order-list", {"user": "0"}),
    ],
)
def test_filter_values_outside_the_schema_are_a_400(staff_client, url, query):
    response = staff_client.get(reverse(url), query)

    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    assert set(response.json()) == set(query)


def test_an_empty_ordering_is_the_default_order(staff_client):
    assert staff_client.get(reverse("orders-api:product-list"), {"ordering": ""}).status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    ("field", "value"),
    [("price", 19.99), ("price", 20), ("price", ""), ("name", 0), ("description", 12), ("name", ["a"])],
)
def test_product_fields_of_the_wrong_type_are_a_400(staff_client, field, value):
    product = ProductFactory()

    response = staff_client.patch(reverse("orders-api:product-detail", args=[product.pk]), {field: value})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()) == [field]


@pytest.mark.parametrize("name", ["auth:login", "auth:register", "auth:refresh"])
def test_public_json_endpoints_refuse_forms(api_client, name):
    body = {"email": "a@example.com", "username": "a", "password": "a-Long-password-42", "refresh": "x"}

    response = api_client.post(reverse(name), body, format="multipart")

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE


def _schema(api_client) -> dict:
    return api_client.get(reverse("schema"), {"format": "json"}).json()


def _body(document: dict, path: str, method: str = "post") -> dict:
    body = document["paths"][path][method]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return {**schema, "body_required": body.get("required"), "content": list(body["content"])}


def test_schema_login_needs_a_password_and_an_email_or_username(api_client):
    login = _body(_schema(api_client), "/api/auth/login/")

    assert login["body_required"] is True
    assert login["content"] == ["application/json"]
    assert login["anyOf"] == [{"required": ["email", "password"]}, {"required": ["username", "password"]}]


def test_schema_refresh_token_has_the_shape_of_a_jwt(api_client):
    refresh = _body(_schema(api_client), "/api/auth/refresh/")

    assert refresh["properties"]["refresh"]["pattern"].startswith("^[A-Za-z0-9_-]+")


def test_schema_price_is_a_positive_decimal_string(api_client):
    import re

    product = _body(_schema(api_client), "/api/products/")
    pattern = re.compile(product["properties"]["price"]["pattern"])

    assert [v for v in ["19.99", "0.01", "1", "00012345678.5", ".5"] if not pattern.search(v)] == []
    assert [v for v in ["", "0", "0.00", "-1", "1.234", "123456789", "1e5"] if pattern.search(v)] == []


def test_schema_documents_the_standard_errors_once(api_client):
    document = _schema(api_client)
    orders = document["paths"]["/api/orders/{id}/"]["get"]["responses"]
    codecheck = document["paths"]["/api/codecheck/files/{id}/"]["get"]["responses"]

    assert orders["404"] == codecheck["404"]
    assert orders["401"] == codecheck["401"]
    assert orders["503"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    assert document["paths"]["/api/orders/"]["post"]["responses"]["413"]["content"]["application/json"]
