"""The caching seam: stored bytes give the same answer as the full path, only to whom it may go."""

import json
import os
import subprocess
import sys
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from config.cache import accepts_json_only
from deals.selectors import deals_report_slot
from deals.tests.helpers import WHEN, post_deals
from deals.tests.oracle import csv_bytes
from orders.tests.factories import ProductFactory

# Invalidation runs after commit: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

PRODUCTS = reverse("orders-api:product-list")
DEALS = reverse("deals-api:deals")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def products(db):
    return ProductFactory.create_batch(3)


def _fill(client, url):
    first = client.get(url)
    assert first.status_code == HTTPStatus.OK
    return first


@pytest.mark.parametrize(
    ("accept", "json_only"),
    [
        ("", True),
        ("*/*", True),
        ("application/json", True),
        ("application/json; indent=4", False),
        ("application/json;q=0.9, */*;q=0.1", True),
        ("application/*", True),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        ("text/html", False),
        ("application/openapi+json", False),
        ("application/json;q=0.5;indent=2", False),
        ("application/json; version=2", False),
        (" , ", True),
    ],
)
def test_only_a_client_that_can_only_get_json_takes_the_stored_bytes(rf, accept, json_only):
    request = rf.get("/", HTTP_ACCEPT=accept) if accept else rf.get("/")
    assert accepts_json_only(request) is json_only


def test_a_hit_is_the_bytes_the_miss_sent_with_the_same_headers(products, auth_client, django_assert_num_queries):
    miss = _fill(auth_client, PRODUCTS)

    with django_assert_num_queries(0):
        hit = auth_client.get(PRODUCTS, HTTP_ACCEPT="application/json")

    assert (miss["X-Cache"], hit["X-Cache"]) == ("miss", "hit")
    assert hit.content == miss.content
    for header in ("Content-Type", "Vary", "Allow", "X-Frame-Options", "X-Content-Type-Options"):
        assert hit[header] == miss[header], header


def test_a_browser_gets_the_browsable_page_not_the_bytes(products, auth_client):
    _fill(auth_client, PRODUCTS)

    page = auth_client.get(PRODUCTS, HTTP_ACCEPT="text/html")

    assert page.status_code == HTTPStatus.OK
    assert page["Content-Type"].startswith("text/html")
    assert page["X-Cache"] == "hit"


def test_format_json_takes_the_full_path_and_gives_the_same_answer(products, auth_client):
    miss = _fill(auth_client, PRODUCTS)

    response = auth_client.get(PRODUCTS, {"format": "json"})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["results"] == miss.json()["results"]


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer", "Basic Zm9vOmJhcg==", ""])
def test_no_valid_token_no_cached_answer(products, auth_client, header):
    _fill(auth_client, PRODUCTS)
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get(PRODUCTS)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "results" not in response.json()


def test_a_deactivated_user_is_refused_even_when_the_page_is_cached(products, user, auth_client):
    _fill(auth_client, PRODUCTS)
    user.is_active = False
    user.save()

    response = auth_client.get(PRODUCTS)

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_a_session_user_gets_the_same_answer_by_the_full_path(products, user, auth_client):
    miss = _fill(auth_client, PRODUCTS)
    browser = Client()
    browser.force_login(user)

    response = browser.get(PRODUCTS, HTTP_ACCEPT="application/json")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == miss.json()


def test_writes_are_untouched_by_the_cached_path(products, auth_client):
    _fill(auth_client, PRODUCTS)

    response = auth_client.post(PRODUCTS, {"name": "x", "price": "1.00", "stock": 1, "category": "toys"})

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_a_product_change_is_seen_by_the_next_cached_read(products, auth_client):
    _fill(auth_client, PRODUCTS)
    auth_client.get(PRODUCTS)
    products[0].stock = 4242
    products[0].save()

    after = auth_client.get(PRODUCTS)

    assert after["X-Cache"] == "miss"
    assert 4242 in [p["stock"] for p in after.json()["results"]]


def test_deals_hit_is_the_miss_bytes_and_an_upload_replaces_it(auth_client, django_assert_num_queries):
    post_deals(auth_client, csv_bytes([["ann", "Ruby", "10", "1", WHEN], ["bob", "Ruby", "5.5", "1", WHEN]]))
    miss = _fill(auth_client, DEALS)

    with django_assert_num_queries(0):
        hit = auth_client.get(DEALS)
    assert hit["X-Cache"] == "hit"
    assert hit.content == miss.content
    assert hit["Content-Type"] == miss["Content-Type"] == "application/json"

    post_deals(auth_client, csv_bytes([["cid", "Opal", "7", "1", WHEN]]))
    after = auth_client.get(DEALS)
    assert json.loads(after.content) == {"response": [{"username": "cid", "spent_money": 7, "gems": []}]}


def test_deals_without_a_data_set_answers_an_empty_report(auth_client):
    response = auth_client.get(DEALS)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"response": []}


def test_an_accepted_upload_outdates_the_cached_report_at_once(auth_client):
    post_deals(auth_client, csv_bytes([["ann", "Ruby", "10", "1", WHEN]]))
    _fill(auth_client, DEALS)

    assert post_deals(auth_client, csv_bytes([["cid", "Opal", "7", "1", WHEN]])).status_code == HTTPStatus.OK

    assert auth_client.get(DEALS)["X-Cache"] == "miss"  # built for the new data set
    assert auth_client.get(DEALS)["X-Cache"] == "hit"


def test_a_rejected_upload_keeps_the_cached_answer(auth_client, django_assert_num_queries):
    post_deals(auth_client, csv_bytes([["ann", "Ruby", "10", "1", WHEN]]))
    before = _fill(auth_client, DEALS)

    assert post_deals(auth_client, b"customer,item,total,quantity,date\r\nann,Ruby,-1,1,x\r\n").status_code == 400

    with django_assert_num_queries(0):
        after = auth_client.get(DEALS)
    assert (after["X-Cache"], after.content) == ("hit", before.content)


def test_an_evicted_generation_is_replaced_by_a_new_one(auth_client):
    post_deals(auth_client, csv_bytes([["ann", "Ruby", "10", "1", WHEN]]))
    before = _fill(auth_client, DEALS)
    cache.delete(deals_report_slot().generation_key)  # evicted, expired, or memcached restarted

    again = auth_client.get(DEALS)

    assert (again["X-Cache"], again.content) == ("miss", before.content)
    assert auth_client.get(DEALS)["X-Cache"] == "hit"


def test_config_imports_no_app():
    """The seam takes the authenticator from the view: ``config`` depends on no app."""
    apps = ("accounts", "files", "codecheck", "deals", "orders")
    code = "import sys, config.cache, config.memcached; print(sorted(m for m in sys.modules if m.split('.')[0] in %r))"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}

    loaded = subprocess.run(
        [sys.executable, "-c", code % (apps,)], env=env, capture_output=True, text=True, check=True, cwd=ROOT
    )

    assert loaded.stdout.strip() == "[]"
