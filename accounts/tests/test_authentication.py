"""JWT requests read their user through the cache, and any change to the user is seen at once."""

import time
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from accounts.selectors import user_for_request, user_slot
from config.cache import _generation_bump
from conftest import free_port, jwt_client

# Invalidation runs after commit: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

ME = reverse("auth:me")
ADMIN_ORDERS = reverse("orders-api:admin-order-list")


def test_a_repeated_request_reads_its_user_from_the_cache(user, django_assert_num_queries):
    client = jwt_client(user)
    assert client.get(ME).status_code == HTTPStatus.OK

    with django_assert_num_queries(0):
        response = client.get(ME)

    assert response.json()["email"] == user.email


def _deactivate(user: User) -> None:
    user.is_active = False
    user.save()


@pytest.mark.parametrize(
    ("change", "code"),
    [(_deactivate, "user_inactive"), (User.delete, "user_not_found")],
    ids=["deactivated", "deleted"],
)
def test_a_deactivated_or_deleted_user_is_refused_at_once(user, change, code):
    client = jwt_client(user)
    assert client.get(ME).status_code == HTTPStatus.OK

    change(user)

    response = client.get(ME)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == code


def test_a_promotion_to_staff_counts_on_the_next_request(user):
    client = jwt_client(user)
    assert client.get(ADMIN_ORDERS).status_code == HTTPStatus.FORBIDDEN

    user.is_staff = True
    user.save(update_fields=["is_staff"])

    assert client.get(ADMIN_ORDERS).status_code == HTTPStatus.OK


def test_an_email_change_shows_in_me_at_once(user):
    client = jwt_client(user)
    client.get(ME)

    user.email = "renamed@example.com"
    user.save()

    assert client.get(ME).json()["email"] == "renamed@example.com"


def test_a_copy_read_before_a_change_committed_is_never_served(user):
    """A reader that loaded the user, then stored it after a change committed,
    stored it under the old generation: the next request reads the database."""
    user_for_request(user_id=user.pk)  # cached
    User.objects.filter(pk=user.pk).update(is_active=False)  # no signal: the cache still holds the old copy
    assert user_for_request(user_id=user.pk).is_active

    _generation_bump(user_slot(user.pk).generation_key)  # what the signal does after commit

    assert not user_for_request(user_id=user.pk).is_active


@pytest.mark.parametrize("claim", ["not-a-number", None, ["1"]])
def test_a_token_with_a_malformed_user_id_is_a_401(user, claim):
    token = AccessToken.for_user(user)
    token["user_id"] = claim
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.get(ME)

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_a_token_without_a_user_id_is_a_401(user):
    token = AccessToken.for_user(user)
    del token.payload["user_id"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert client.get(ME).status_code == HTTPStatus.UNAUTHORIZED


def test_requests_authenticate_from_the_database_when_the_cache_is_down(settings, user):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "config.memcached.PersistentPyMemcacheCache",
            "LOCATION": f"127.0.0.1:{free_port()}",  # nothing listens there
            "OPTIONS": {"ignore_exc": True, "connect_timeout": 0.3, "timeout": 0.3, "retry_attempts": 1},
        },
    }
    client = jwt_client(user)

    assert client.get(ME).status_code == HTTPStatus.OK
    user.is_active = False
    user.save()
    assert client.get(ME).status_code == HTTPStatus.UNAUTHORIZED


def _bearer(token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_token_is_refused_once_it_expires(user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=3))  # exp is whole seconds: at least 2 s left
    client = _bearer(token)
    assert client.get(ME).status_code == HTTPStatus.OK

    time.sleep(max(0.0, token["exp"] - time.time()) + 0.05)

    response = client.get(ME)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"


def test_a_token_with_the_signature_of_a_valid_one_changed_is_refused(user):
    token = str(AccessToken.for_user(user))
    assert _bearer(token).get(ME).status_code == HTTPStatus.OK
    header_and_payload, signature = token.rsplit(".", 1)
    forged = f"{header_and_payload}.{signature[::-1]}"

    response = _bearer(forged).get(ME)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"
