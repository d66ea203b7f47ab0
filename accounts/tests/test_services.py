import pytest
from django.core.exceptions import ValidationError

from accounts.backends import EmailOrUsernameBackend
from accounts.services import user_create
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_user_create_derives_unique_username_from_email():
    UserFactory(username="sam", email="sam@other.org")

    user = user_create(email="sam@example.com", password="correct-horse-battery")

    assert user.username.startswith("sam-")
    assert user.email == "sam@example.com"


def test_user_create_rejects_taken_username():
    UserFactory(username="sam")

    with pytest.raises(ValidationError) as exc:
        user_create(email="new@example.com", password="correct-horse-battery", username="sam")

    assert "username" in exc.value.message_dict


def test_user_create_rejects_password_like_email():
    with pytest.raises(ValidationError) as exc:
        user_create(email="averylongname@example.com", password="averylongname")

    assert "password" in exc.value.message_dict


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"username": "ada", "password": "correct-horse-battery"}, True),
        ({"email": "ADA@example.com", "password": "correct-horse-battery"}, True),
        ({"username": "ada", "password": None}, False),
        ({"password": "correct-horse-battery"}, False),
    ],
)
def test_backend_authenticates_by_email_or_username(kwargs, expected):
    user = UserFactory(username="ada", email="ada@example.com")

    result = EmailOrUsernameBackend().authenticate(None, **kwargs)

    assert (result == user) is expected


def test_user_str_is_email():
    assert str(UserFactory(email="str@example.com")) == "str@example.com"


@pytest.mark.parametrize(("email", "expected"), [("o'neil!x@example.com", "oneilx"), ("!!!@example.com", "user")])
def test_user_create_username_keeps_only_allowed_characters(email, expected):
    user = user_create(email=email, password="correct-horse-battery")

    assert user.username == expected
