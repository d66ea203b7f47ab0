"""The admin's lists of code files and checks."""

from html.parser import HTMLParser
from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from codecheck.tests.factories import CheckFactory, CodeFileFactory

pytestmark = pytest.mark.django_db


class _Columns(HTMLParser):
    """The changelist table's header texts and each row's cell texts, read with the standard library's parser."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.header: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: str | None = None
        self._in = ""
        self._result_list = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._result_list = dict(attrs).get("id") == "result_list"
        if not self._result_list:
            return
        if tag == "thead":
            self._in = "head"
        elif tag == "tbody":
            self._in = "body"
        elif tag == "tr" and self._in == "body":
            self.rows.append([])
        elif tag in ("th", "td") and self._in:
            self._cell = ""

    def handle_endtag(self, tag):
        if not self._result_list:
            return
        if tag == "table":
            self._result_list = False
        elif tag in ("th", "td") and self._cell is not None:
            (self.header if self._in == "head" else self.rows[-1]).append(self._cell.strip())
            self._cell = None
        elif tag in ("thead", "tbody"):
            self._in = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def test_the_check_list_shows_each_checks_owner(client, django_assert_max_num_queries):
    admin = UserFactory(is_staff=True, is_superuser=True)
    owners = [UserFactory(email=f"{name}@example.com") for name in ("анна", "bob", "carol")]
    for owner in owners:
        CheckFactory(file=CodeFileFactory(owner=owner, name=f"{owner.username}.py"))
    client.force_login(admin)

    with django_assert_max_num_queries(10):  # the owners are joined, not read row by row
        response = client.get(reverse("admin:codecheck_check_changelist"))

    table = _Columns()
    table.feed(response.content.decode())
    owner_column = table.header.index("Owner")
    assert response.status_code == HTTPStatus.OK
    assert sorted(row[owner_column] for row in table.rows) == sorted(str(owner) for owner in owners)


def test_the_check_list_searches_by_owner_email(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    CheckFactory(file=CodeFileFactory(owner=UserFactory(email="ann@example.com"), name="ann.py"))
    CheckFactory(file=CodeFileFactory(owner=UserFactory(email="bob@example.com"), name="bob.py"))
    client.force_login(admin)

    response = client.get(reverse("admin:codecheck_check_changelist"), {"q": "ann@"})

    body = response.content.decode()
    assert "ann.py" in body
    assert "bob.py" not in body
