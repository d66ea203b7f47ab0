from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_signup_page_renders_bootstrap_form(client):
    response = client.get(reverse("accounts:signup"))

    assert response.status_code == HTTPStatus.OK
    assert b"css/bootstrap.min.css" in response.content
    assert b'name="email"' in response.content
    assert b'name="password"' in response.content


def test_signup_creates_user_and_logs_in(client):
    response = client.post(
        reverse("accounts:signup"), {"email": "web@example.com", "password": "correct-horse-battery"}
    )

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("home")
    user = User.objects.get(email="web@example.com")
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"email": "web@example.com", "password": "123"}, b"too short"),
        ({"email": "taken@example.com", "password": "correct-horse-battery"}, b"already exists"),
        ({"email": "bad", "password": "correct-horse-battery"}, b"valid email"),
    ],
)
def test_signup_shows_errors_and_creates_nothing(client, form, message):
    UserFactory(email="Taken@example.com")

    response = client.post(reverse("accounts:signup"), form)

    assert response.status_code == HTTPStatus.OK
    assert message in response.content
    assert User.objects.count() == 1


@pytest.mark.parametrize("login", ["weblogin@example.com", "WEBLOGIN@example.com", "weblogin"])
def test_login_page_accepts_email_or_username(client, login):
    UserFactory(username="weblogin", email="weblogin@example.com")

    response = client.post(reverse("accounts:login"), {"username": login, "password": "correct-horse-battery"})

    assert response.status_code == HTTPStatus.FOUND
    assert "_auth_user_id" in client.session


def test_login_page_rejects_wrong_password(client):
    UserFactory(username="weblogin", email="weblogin@example.com")

    response = client.post(reverse("accounts:login"), {"username": "weblogin", "password": "nope"})

    assert response.status_code == HTTPStatus.OK
    assert b"Please enter a correct" in response.content
    assert "_auth_user_id" not in client.session


def test_logout_ends_session(client, user):
    client.force_login(user)

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == HTTPStatus.FOUND
    assert "_auth_user_id" not in client.session


def test_home_shows_current_user(client, user):
    client.force_login(user)

    response = client.get(reverse("home"))

    assert user.email.encode() in response.content
