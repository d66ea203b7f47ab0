"""Malformed and hostile requests get a clear JSON 4xx, never a 500 or an HTML page."""

import json
import os
import subprocess
import sys
from http import HTTPStatus

import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from conftest import BASE_DIR, jwt_client
from orders.tests.factories import OrderFactory, ProductFactory

pytestmark = pytest.mark.django_db

NESTING = 50_000
DEEP_BODIES = {
    "lists": "[" * NESTING + "]" * NESTING,
    "objects": '{"a":' * NESTING + "1" + "}" * NESTING,
    "unclosed": "[" * NESTING,
}


@pytest.fixture
def endpoints(user, staff_user):
    """(client, method, url) of JSON endpoints, public and authenticated."""
    product = ProductFactory()
    order = OrderFactory(user=user)
    anonymous, owner, staff = APIClient(), jwt_client(user), jwt_client(staff_user)
    return {
        "login": (anonymous, "post", reverse("auth:login")),
        "refresh": (anonymous, "post", reverse("auth:refresh")),
        "register": (anonymous, "post", reverse("auth:register")),
        "orders POST": (owner, "post", reverse("orders-api:order-list")),
        "orders PATCH": (owner, "patch", reverse("orders-api:order-detail", args=[order.pk])),
        "products POST": (staff, "post", reverse("orders-api:product-list")),
        "products PATCH": (staff, "patch", reverse("orders-api:product-detail", args=[product.pk])),
    }


def _send(endpoint, body, **extra):
    client, method, url = endpoint
    return getattr(client, method)(url, data=body, content_type="application/json", **extra)


@pytest.mark.parametrize("body", list(DEEP_BODIES), ids=list(DEEP_BODIES))
@pytest.mark.parametrize(
    "name", ["login", "refresh", "register", "orders POST", "orders PATCH", "products POST", "products PATCH"]
)
def test_deeply_nested_json_is_a_400_with_a_message(endpoints, name, body):
    response = _send(endpoints[name], DEEP_BODIES[body])

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/json"
    assert "nested deeper than 32 levels" in response.json()["detail"]


def _nested(depth: int) -> str:
    return '{"items":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


def test_json_at_the_depth_limit_reaches_validation(endpoints):
    at_limit = _send(endpoints["orders POST"], _nested(32))
    over_limit = _send(endpoints["orders POST"], _nested(33))

    assert at_limit.status_code == HTTPStatus.BAD_REQUEST
    assert "items" in at_limit.json()  # the serializer's field error: the parser let it through
    assert over_limit.status_code == HTTPStatus.BAD_REQUEST
    assert "nested deeper" in over_limit.json()["detail"]


@pytest.mark.parametrize("name", ["login", "register", "orders POST", "products PATCH"])
def test_json_body_over_the_memory_limit_is_a_json_413(endpoints, name, settings):
    body = json.dumps({"email": "a@example.com", "password": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})

    response = _send(endpoints[name], body)

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response["Content-Type"] == "application/json"
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in response.json()["detail"]


def test_form_body_over_the_memory_limit_is_a_json_413(user, settings):
    # A urlencoded body is read whole by Django, which refuses it with RequestDataTooBig.
    body = "a=" + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = jwt_client(user).post(
        reverse("codecheck-api:file-list"), data=body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response["Content-Type"] == "application/json"


@pytest.fixture
def login_rate_two_per_minute():
    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = {**original, "login": "2/minute", "register": "2/minute"}
    yield
    ScopedRateThrottle.THROTTLE_RATES = original


def _attempts(url: str, forwarded_for: list[str | None]) -> list[int]:
    client = APIClient()
    body = {"email": "nobody@example.com", "password": "wrong", "username": "nobody"}
    codes = []
    for address in forwarded_for:
        headers = {"X-Forwarded-For": address} if address else {}
        codes.append(client.post(url, body, REMOTE_ADDR="203.0.113.7", headers=headers).status_code)
    return codes


@pytest.mark.parametrize("name", ["auth:login", "auth:register"])
def test_forwarded_for_does_not_escape_the_throttle_by_default(login_rate_two_per_minute, name):
    # The default trusts no proxy (NUM_PROXIES=0): every X-Forwarded-For is the client's own words.
    forged = [None, None, None] + [f"198.51.100.{n}" for n in range(1, 6)] + ["1.2.3.4, 5.6.7.8"]

    codes = _attempts(reverse(name), forged)

    assert codes[2:] == [HTTPStatus.TOO_MANY_REQUESTS] * 7


def test_behind_one_proxy_the_last_hop_is_the_client(login_rate_two_per_minute, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    url = reverse("auth:login")

    # The client forges earlier entries; the proxy appends the address it saw.
    same_client = _attempts(url, [f"10.0.0.{n}, 192.0.2.50" for n in range(1, 5)])
    other_clients = _attempts(url, [f"192.0.2.{n}" for n in range(60, 64)])

    assert same_client == [HTTPStatus.UNAUTHORIZED] * 2 + [HTTPStatus.TOO_MANY_REQUESTS] * 2
    assert other_clients == [HTTPStatus.UNAUTHORIZED] * 4


@pytest.mark.parametrize(("value", "expected"), [(None, "0"), ("1", "1"), ("2", "2")])
def test_num_proxies_comes_from_the_environment(value, expected):
    env = {k: v for k, v in os.environ.items() if k != "NUM_PROXIES"}
    if value is not None:
        env["NUM_PROXIES"] = value
    code = "import django; django.setup(); from rest_framework.settings import api_settings as s; print(s.NUM_PROXIES)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        capture_output=True,
        text=True,
        check=True,
    )

    assert out.stdout.strip() == expected


@pytest.mark.parametrize("url", ["/api/no-such-thing/", "/api/orders/-1/", "/api/files/abc/download/"])
def test_unknown_api_url_is_a_json_404_with_debug_on(client, settings, url):
    settings.DEBUG = True

    response = client.get(url)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_unknown_page_stays_an_html_404_with_debug_on(client, settings):
    settings.DEBUG = True

    response = client.get("/no-such-page/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(("num_proxies", "secure"), [("0", False), ("1", True)])
def test_a_forwarded_scheme_is_trusted_only_behind_a_declared_proxy(num_proxies, secure):
    """With no proxy declared, a client reaching gunicorn directly cannot claim https."""
    code = (
        "import django; django.setup()\n"
        "from django.test import RequestFactory\n"
        "print(RequestFactory().get('/', HTTP_X_FORWARDED_PROTO='https').is_secure())\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "NUM_PROXIES": num_proxies}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True, check=True
    ).stdout

    assert out.strip() == str(secure)
