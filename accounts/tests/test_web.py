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


def _alerts(response) -> list[str]:
    """The text of each Bootstrap alert on the page, read with the standard library's HTML parser."""
    from html.parser import HTMLParser

    class Alerts(HTMLParser):
        def __init__(self):
            super().__init__()
            self.found: list[str] = []
            self.depth = 0

        def handle_starttag(self, tag, attrs):
            if self.depth:
                self.depth += 1
            elif "alert" in (dict(attrs).get("class") or "").split():
                self.depth = 1
                self.found.append("")

        def handle_endtag(self, tag):
            if self.depth:
                self.depth -= 1

        def handle_data(self, data):
            if self.depth:
                self.found[-1] = " ".join((self.found[-1] + data).split())

    parser = Alerts()
    parser.feed(response.content.decode())
    return parser.found


@pytest.mark.parametrize(
    ("form", "greeting"),
    [
        ({"email": "ann@example.com"}, "Welcome, ann! Your account is ready."),
        ({"email": "ivan@example.com", "username": "Иван"}, "Welcome, Иван! Your account is ready."),
    ],
)
def test_signup_greets_the_new_user_on_the_next_page(client, form, greeting):
    response = client.post(reverse("accounts:signup"), {**form, "password": "correct-horse-battery"}, follow=True)

    assert response.redirect_chain == [(reverse("home"), HTTPStatus.FOUND)]
    assert _alerts(response) == [greeting]
    assert _alerts(client.get(reverse("home"))) == []  # shown once


@pytest.mark.parametrize("username", ["with space", "taken"])
def test_signup_refuses_a_bad_or_taken_name_and_creates_nothing(client, username):
    UserFactory(username="taken")

    response = client.post(
        reverse("accounts:signup"),
        {"email": "new@example.com", "username": username, "password": "correct-horse-battery"},
    )

    assert response.status_code == HTTPStatus.OK
    assert b"is-invalid" in response.content
    assert not User.objects.filter(email="new@example.com").exists()


def test_login_and_logout_say_so(client):
    UserFactory(username="Мария", email="maria@example.com")

    logged_in = client.post(
        reverse("accounts:login"), {"username": "maria@example.com", "password": "correct-horse-battery"}, follow=True
    )
    logged_out = client.post(reverse("accounts:logout"), follow=True)

    assert _alerts(logged_in) == ["Welcome back, Мария."]
    assert _alerts(logged_out) == ["You have logged out."]
