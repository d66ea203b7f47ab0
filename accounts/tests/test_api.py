from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def test_register_creates_user(api_client):
    response = api_client.post(reverse("auth:register"), {"email": "Ann@Example.com", "password": PASSWORD})

    assert response.status_code == HTTPStatus.CREATED
    user = User.objects.get()
    assert response.json() == {"id": user.pk, "email": "Ann@example.com", "username": "Ann"}
    assert user.check_password(PASSWORD)


def test_register_keeps_given_username(api_client):
    response = api_client.post(
        reverse("auth:register"), {"email": "bob@example.com", "password": PASSWORD, "username": "bobby"}
    )

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["username"] == "bobby"


def test_register_rejects_duplicate_email_in_other_case(api_client):
    UserFactory(email="ann@example.com")

    response = api_client.post(reverse("auth:register"), {"email": "ANN@example.com", "password": PASSWORD})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"email": ["A user with this email already exists."]}
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@example.com", "password": "123"}, "password"),
        ({"email": "a@example.com", "password": "password"}, "password"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"password": PASSWORD}, "email"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "a\x00@example.com", "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": PASSWORD, "username": "bad name"}, "username"),
    ],
)
def test_register_rejects_bad_input(api_client, body, field):
    response = api_client.post(reverse("auth:register"), body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()
    assert not User.objects.exists()


def test_register_rejects_malformed_json(api_client):
    response = api_client.post(reverse("auth:register"), data="{not json", content_type="application/json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "JSON parse error" in response.json()["detail"]


@pytest.mark.parametrize("login_field", ["email", "username"])
def test_login_returns_token_pair(api_client, login_field):
    user = UserFactory(username="carol", email="Carol@example.com")
    login = "carol@EXAMPLE.com" if login_field == "email" else "carol"

    response = api_client.post(reverse("auth:login"), {login_field: login, "password": PASSWORD})

    assert response.status_code == HTTPStatus.OK
    assert set(response.json()) == {"access", "refresh"}
    me = api_client.get(reverse("auth:me"), HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert me.json() == {"id": user.pk, "email": "Carol@example.com", "username": "carol", "is_staff": False}


@pytest.mark.parametrize(
    "body",
    [
        {"email": "dave@example.com", "password": "wrong-password"},
        {"email": "nobody@example.com", "password": PASSWORD},
        {"username": "dave", "password": "wrong-password"},
    ],
)
def test_login_wrong_credentials_is_401(api_client, body):
    UserFactory(username="dave", email="dave@example.com")

    response = api_client.post(reverse("auth:login"), body)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"detail": "No active account matches these credentials."}


def test_login_inactive_user_is_401(api_client):
    UserFactory(username="erin", email="erin@example.com", is_active=False)

    response = api_client.post(reverse("auth:login"), {"email": "erin@example.com", "password": PASSWORD})

    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize("body", [{"password": PASSWORD}, {"email": "x@example.com"}, {}])
def test_login_missing_fields_is_400(api_client, body):
    response = api_client.post(reverse("auth:login"), body)

    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_refresh_returns_new_access_and_rotates(api_client, user):
    tokens = api_client.post(reverse("auth:login"), {"email": user.email, "password": PASSWORD}).json()

    response = api_client.post(reverse("auth:refresh"), {"refresh": tokens["refresh"]})
    reused = api_client.post(reverse("auth:refresh"), {"refresh": tokens["refresh"]})

    assert response.status_code == HTTPStatus.OK
    assert "access" in response.json()
    assert reused.status_code == HTTPStatus.UNAUTHORIZED  # the rotated token was blacklisted


@pytest.mark.parametrize("token", ["garbage", ""])
def test_refresh_bad_token(api_client, token):
    response = api_client.post(reverse("auth:refresh"), {"refresh": token})

    assert response.status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.BAD_REQUEST)
    if token:
        assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_me_requires_authentication(api_client):
    response = api_client.get(reverse("auth:me"))

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_login_is_throttled(api_client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
    from rest_framework.throttling import ScopedRateThrottle

    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = {**original, "login": "2/minute"}
    try:
        codes = [
            api_client.post(reverse("auth:login"), {"email": "x@example.com", "password": "p"}).status_code
            for _ in range(3)
        ]
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original

    assert codes == [HTTPStatus.UNAUTHORIZED, HTTPStatus.UNAUTHORIZED, HTTPStatus.TOO_MANY_REQUESTS]
