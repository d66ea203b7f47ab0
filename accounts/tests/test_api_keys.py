"""API keys: made, listed and revoked by a logged-in user; ``Authorization: Api-Key``
acts as the owner everywhere but key management."""

import hashlib
from http import HTTPStatus

import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_api_key.crypto import KeyGenerator

from accounts.models import ApiKey
from files.tests.factories import FileFactory
from orders.tests.factories import OrderFactory, ProductFactory

# The cache is invalidated after commit: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

KEYS = reverse("auth:api-key-list")
ME = reverse("auth:me")


def _key_url(pk: int) -> str:
    return reverse("auth:api-key-detail", args=[pk])


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def _make_key(client: APIClient, name: str = "CI robot") -> dict:
    response = client.post(KEYS, {"name": name})
    assert response.status_code == HTTPStatus.CREATED, response.content
    return response.json()


def test_a_new_key_is_shown_once_and_stored_only_as_its_hash(auth_client, user):
    body = _make_key(auth_client, "Партнёр CI")

    row = ApiKey.objects.get()
    assert set(body) == {"id", "name", "prefix", "key", "created_at"}
    assert (body["id"], body["name"], row.user) == (row.pk, "Партнёр CI", user)
    assert body["key"].startswith(body["prefix"])
    assert len(body["prefix"]) == 8
    # The oracles: hashlib, and the library's own verifier.
    assert row.hashed_key == "sha512$$" + hashlib.sha512(body["key"].encode()).hexdigest()
    assert KeyGenerator().verify(body["key"], row.hashed_key)
    assert body["key"] not in {row.hashed_key, row.prefix, row.name, str(row.pk)}
    assert "key" not in auth_client.get(KEYS).json()["results"][0]


def test_the_list_holds_only_your_keys_in_use_newest_first(auth_client, other_client):
    first, second, third = (_make_key(auth_client, name) for name in ("one", "two", "three"))
    _make_key(other_client, "someone else's")
    assert auth_client.delete(_key_url(second["id"])).status_code == HTTPStatus.NO_CONTENT

    response = auth_client.get(KEYS)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [{k: key[k] for k in ("id", "name", "prefix", "created_at")} for key in (third, first)],
    }


def test_a_key_acts_as_its_owner(auth_client, user, other_user):
    key = _make_key(auth_client)["key"]
    mine, theirs = FileFactory(owner=user), FileFactory(owner=other_user)
    client = key_client(key)

    me = client.get(ME)
    files = client.get(reverse("files-api:file-list"))
    other = client.get(reverse("files-api:file-detail", args=[theirs.pk]))

    assert (me.status_code, me.json()["id"]) == (HTTPStatus.OK, user.pk)
    assert [f["id"] for f in files.json()["results"]] == [mine.pk]
    assert other.status_code == HTTPStatus.NOT_FOUND


def test_a_key_places_an_order_for_its_owner(auth_client, user):
    key = _make_key(auth_client)["key"]
    product = ProductFactory(stock=3)

    response = key_client(key).post(
        reverse("orders-api:order-list"), {"items": [{"product": product.pk, "quantity": 1}]}
    )

    assert response.status_code == HTTPStatus.CREATED, response.content
    assert list(user.orders.values_list("pk", flat=True)) == [response.json()["id"]]


def test_cached_answers_served_to_a_key_stay_its_owners(auth_client, user, other_client):
    """An order's detail is cached after the owner's read; another user's key still
    gets a 404, the owner's key the cached answer."""
    order = OrderFactory(user=user)
    url = reverse("orders-api:order-detail", args=[order.pk])
    own_key, other_key = _make_key(auth_client)["key"], _make_key(other_client)["key"]
    first = auth_client.get(url)
    assert (first.status_code, first["X-Cache"]) == (HTTPStatus.OK, "miss")

    theirs = key_client(other_key).get(url)
    mine = key_client(own_key).get(url)

    assert theirs.status_code == HTTPStatus.NOT_FOUND
    assert (mine.status_code, mine["X-Cache"], mine.json()) == (HTTPStatus.OK, "hit", first.json())


@pytest.mark.parametrize(
    "method",
    [
        lambda c, pk: c.get(KEYS),
        lambda c, pk: c.post(KEYS, {"name": "minted by a key"}),
        lambda c, pk: c.delete(_key_url(pk)),
    ],
    ids=["list", "create", "revoke"],
)
def test_a_key_cannot_manage_keys(auth_client, method):
    made = _make_key(auth_client)

    response = method(key_client(made["key"]), made["id"])

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "API keys cannot manage API keys" in response.json()["detail"]
    assert list(ApiKey.objects.values_list("pk", "revoked")) == [(made["id"], False)]


def test_a_revoked_key_is_refused_at_once(auth_client):
    made = _make_key(auth_client)
    client = key_client(made["key"])
    assert client.get(ME).status_code == HTTPStatus.OK

    assert auth_client.delete(_key_url(made["id"])).status_code == HTTPStatus.NO_CONTENT

    response = client.get(ME)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "api_key_invalid"
    assert auth_client.delete(_key_url(made["id"])).status_code == HTTPStatus.NOT_FOUND


def test_another_users_key_cannot_be_revoked(auth_client, other_client):
    theirs = _make_key(other_client)

    response = auth_client.delete(_key_url(theirs["id"]))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert key_client(theirs["key"]).get(ME).status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Api-Key", "api_key_malformed"),
        ("Api-Key ", "api_key_malformed"),
        ("Api-Key not-a-key", "api_key_malformed"),
        # UTF-8 bytes as a WSGI server hands them on (PEP 3333: decoded as latin-1).
        ("Api-Key " + "ключ.ключключключключключ".encode().decode("latin-1"), "api_key_malformed"),
        ("Api-Key abcdefgh.0123456789abcdef0123456789abcdef", "api_key_invalid"),
        ("Api-Key {prefix}.0123456789abcdef0123456789abcdef", "api_key_invalid"),
        ("api-key {prefix}.0123456789abcdef0123456789abcdef", "api_key_invalid"),
    ],
)
def test_an_unknown_or_malformed_key_is_a_401(auth_client, header, code):
    prefix = _make_key(auth_client)["prefix"]  # a real prefix with a wrong secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header.format(prefix=prefix))

    response = client.get(ME)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == code


def test_an_inactive_users_key_is_a_401(auth_client, user):
    key = _make_key(auth_client)["key"]
    user.is_active = False
    user.save()

    response = key_client(key).get(ME)

    assert (response.status_code, response.json()["code"]) == (HTTPStatus.UNAUTHORIZED, "user_inactive")


def test_keys_are_managed_with_a_session_too(user):
    client = APIClient()
    client.force_login(user)

    made = client.post(KEYS, {"name": "from the browser"})

    assert made.status_code == HTTPStatus.CREATED
    assert key_client(made.json()["key"]).get(ME).json()["id"] == user.pk


@pytest.mark.parametrize("name", ["", "   ", "x" * 51, 5])
def test_a_bad_name_is_a_400(auth_client, name):
    response = auth_client.post(KEYS, {"name": name})

    assert (response.status_code, list(response.json())) == (HTTPStatus.BAD_REQUEST, ["name"])
    assert not ApiKey.objects.exists()


def test_anonymous_key_management_is_a_401(api_client):
    assert api_client.get(KEYS).status_code == HTTPStatus.UNAUTHORIZED


def test_the_schema_names_the_key_scheme_but_not_on_key_management(api_client):
    document = api_client.get(reverse("schema"), {"format": "json"}).json()

    scheme = document["components"]["securitySchemes"]["apiKeyAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert {"apiKeyAuth": []} in document["paths"]["/api/orders/"]["post"]["security"]
    for method in ("get", "post"):
        assert {"apiKeyAuth": []} not in document["paths"]["/api/auth/api-keys/"][method]["security"]


def test_a_deleted_user_takes_their_keys_along(auth_client, user):
    _make_key(auth_client)

    user.delete()

    assert not ApiKey.objects.exists()


def test_admins_list_keys_without_their_secrets(admin_client, user):
    api_key, key = ApiKey.objects.create_key(user=user, name="робот склада")

    response = admin_client.get(reverse("admin:accounts_apikey_changelist"))

    page = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "робот склада" in page
    assert api_key.prefix in page
    assert key not in page
