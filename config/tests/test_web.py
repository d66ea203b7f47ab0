"""The front door: the home page's links, the browsable API's titles and favicon, Redoc served locally."""

import io
import json
import os
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from PIL import Image
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.views import APIView

from codecheck.tests.factories import CodeFileFactory
from config.web import VIEW_TITLES, view_title_key
from conftest import BASE_DIR
from files.tests.factories import FileFactory
from orders.tests.factories import OrderFactory, ProductFactory

pytestmark = pytest.mark.django_db


class Page(HTMLParser):
    """What a person sees of a page: its title, first heading, links, icons, breadcrumbs and alerts."""

    def __init__(self, html: str):
        super().__init__()
        self.title = self.h1 = ""
        self.links: list[tuple[str, str]] = []  # (text, href) of every <a>
        self.icons: list[str] = []
        self.breadcrumbs: list[str] = []
        self.alerts: list[str] = []
        self.sources: list[str] = []  # every src= and <link href=>
        self.file_inputs: list[str] = []  # the name of every <input type="file">
        self._open: list[tuple[str, dict]] = []
        self._text: list[str] = []
        self._crumb_depth = 0  # inside <ul class="breadcrumb">
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if tag == "ul" and (self._crumb_depth or "breadcrumb" in attrs.get("class", "").split()):
            self._crumb_depth += 1
        if tag == "link":
            self.sources.append(attrs["href"])
            if "icon" in attrs.get("rel", "").split():
                self.icons.append(attrs["href"])
            return
        if "src" in attrs:
            self.sources.append(attrs["src"])
        if tag == "input" and attrs.get("type") == "file":
            self.file_inputs.append(attrs.get("name", ""))
        if tag in ("title", "h1", "a") or "alert" in attrs.get("class", "").split():
            self._open.append((tag, {**attrs, "_start": len(self._text)}))

    def handle_data(self, data):
        self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "ul" and self._crumb_depth:
            self._crumb_depth -= 1
        if not self._open or self._open[-1][0] != tag:
            return
        _, attrs = self._open.pop()
        text = " ".join("".join(self._text[attrs["_start"] :]).split())
        if tag == "title":
            self.title = text
        elif tag == "h1" and not self.h1:
            self.h1 = text
        elif tag == "a":
            self.links.append((text, attrs.get("href", "")))
            if self._crumb_depth:
                self.breadcrumbs.append(text)
        else:
            self.alerts.append(text)


def browse(client, url: str) -> Page:
    response = client.get(url, HTTP_ACCEPT="text/html")
    assert response["Content-Type"].startswith("text/html"), response.status_code
    return Page(response.content.decode())


# --- Browsable API titles ------------------------------------------------------


def _objects(user):
    return {
        "file": FileFactory(owner=user).pk,
        "code_file": CodeFileFactory(owner=user).pk,
        "product": ProductFactory().pk,
        "order": OrderFactory(user=user).pk,
    }


@pytest.mark.parametrize(
    ("url_name", "obj", "title", "crumbs"),
    [
        ("files-api:file-list", None, "Files", ["Home", "Files"]),
        ("files-api:file-detail", "file", "File", ["Home", "Files", "File"]),
        ("files-api:upload", None, "Upload a file", ["Home", "Upload a file"]),
        ("codecheck-api:file-list", None, "Code check files", ["Home", "Code check files"]),
        ("codecheck-api:file-detail", "code_file", "Code check file", ["Home", "Code check files", "Code check file"]),
        ("codecheck-api:check-list", None, "Code checks", ["Home", "Code checks"]),
        ("deals-api:deals", None, "Deals", ["Home", "Deals"]),
        ("orders-api:product-list", None, "Products", ["Home", "Products"]),
        ("orders-api:product-detail", "product", "Product", ["Home", "Products", "Product"]),
        ("orders-api:order-list", None, "Orders", ["Home", "Orders"]),
        ("orders-api:order-detail", "order", "Order", ["Home", "Orders", "Order"]),
        ("orders-api:order-events", "order", "Order timeline", ["Home", "Orders", "Order", "Order timeline"]),
        ("auth:me", None, "Your account", ["Home", "Your account"]),
    ],
)
def test_browsable_api_page_has_a_human_title(client, user, url_name, obj, title, crumbs):
    client.force_login(user)
    pk = _objects(user)[obj] if obj else None

    page = browse(client, reverse(url_name, kwargs={"pk": pk} if pk else None))

    assert (page.h1, page.title, page.breadcrumbs) == (title, f"{title} · Four products API", crumbs)


def _api_views(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            cls = getattr(pattern.callback, "cls", None)
            if cls is not None and issubclass(cls, APIView):
                yield prefix + str(pattern.pattern), cls


def test_every_browsable_api_view_is_named_in_view_titles():
    browsable = {
        route: cls
        for route, cls in _api_views(get_resolver().url_patterns)
        if any(issubclass(renderer, BrowsableAPIRenderer) for renderer in cls.renderer_classes)
    }

    missing = {route: view_title_key(cls) for route, cls in browsable.items() if view_title_key(cls) not in VIEW_TITLES}

    assert len(browsable) > 20
    assert missing == {}, "add a title for each to config.web.VIEW_TITLES"


def test_browsable_api_login_link_comes_back_to_the_page(client):
    page = browse(client, reverse("orders-api:product-list"))

    login = dict(page.links)["Log in"]
    assert urlsplit(login).path == reverse("accounts:login")
    assert parse_qs(urlsplit(login).query) == {"next": [reverse("orders-api:product-list")]}


def test_browsable_api_session_login_then_page_shows_user_and_message(client, user):
    response = client.post(
        f"{reverse('accounts:login')}?next={reverse('orders-api:order-list')}",
        {"username": user.email, "password": "correct-horse-battery", "next": reverse("orders-api:order-list")},
        follow=True,
        headers={"Accept": "text/html"},
    )

    page = Page(response.content.decode())
    assert response.status_code == HTTPStatus.OK
    assert (page.h1, page.alerts) == ("Orders", [f"Welcome back, {user.username}."])
    assert "Log out" in response.content.decode()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"file": ("a.txt", b"hello")}, HTTPStatus.CREATED),
        ({"other": "x"}, HTTPStatus.BAD_REQUEST),
    ],
)
def test_upload_page_offers_the_file_field_again_after_a_post(client, user, body, status):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(user)
    data = {k: SimpleUploadedFile(*v) if isinstance(v, tuple) else v for k, v in body.items()}

    response = client.post(reverse("files-api:upload"), data, headers={"Accept": "text/html"})

    assert response.status_code == status
    assert Page(response.content.decode()).file_inputs == ["file"]


# --- Favicon ------------------------------------------------------------------


def _fetch(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers["Content-Type"], response.read()


@pytest.mark.parametrize("url_name", ["home", "accounts:login", "orders-api:product-list", "redoc"])
def test_pages_link_a_favicon_that_is_served_as_an_svg(live_server, client, url_name):
    page = Page(client.get(reverse(url_name), HTTP_ACCEPT="text/html").content.decode())

    [icon] = page.icons
    status, content_type, body = _fetch(live_server.url + icon)

    assert (status, content_type) == (HTTPStatus.OK, "image/svg+xml")
    assert ET.fromstring(body).tag == "{http://www.w3.org/2000/svg}svg"


def test_favicon_ico_answers_with_an_icon(live_server):
    status, content_type, body = _fetch(live_server.url + "/favicon.ico")  # follows the redirect

    image = Image.open(io.BytesIO(body))
    assert (status, image.format) == (HTTPStatus.OK, "ICO")
    assert content_type in {"image/x-icon", "image/vnd.microsoft.icon"}
    assert (16, 16) in image.info["sizes"]


def test_redoc_loads_nothing_from_another_host(client):
    page = Page(client.get(reverse("redoc")).content.decode())

    assert page.sources
    assert [src for src in page.sources if urlsplit(src).netloc] == []


# --- Home page ----------------------------------------------------------------


def _home_links(client) -> dict[str, str]:
    page = Page(client.get(reverse("home")).content.decode())
    return dict(page.links)


PRODUCT_PAGES = {
    "Open code check": "codecheck:file-list",
    "Your files": "files-api:file-list",
    "Upload a file": "files-api:upload",
    "Deals": "deals-api:deals",
    "Products": "orders-api:product-list",
    "Your orders": "orders-api:order-list",
}
DOCS = {"Swagger UI": "swagger-ui", "Redoc": "redoc", "OpenAPI schema": "schema"}


def test_home_links_a_visitor_to_every_product_through_log_in(client):
    links = _home_links(client)

    through_login = {text: parse_qs(urlsplit(links[text]).query)["next"][0] for text in PRODUCT_PAGES}
    assert through_login == {text: reverse(name) for text, name in PRODUCT_PAGES.items()}
    assert {text: links[text] for text in DOCS} == {text: reverse(name) for text, name in DOCS.items()}
    assert (links["Sign up"], "Flower" in links, "Admin" in links) == (reverse("accounts:signup"), False, False)


def test_home_links_a_user_to_every_product_and_not_to_staff_pages(client, user):
    client.force_login(user)

    links = _home_links(client)

    assert {text: links[text] for text in PRODUCT_PAGES} == {text: reverse(n) for text, n in PRODUCT_PAGES.items()}
    assert ("Flower" in links, "Admin" in links, "Sign up" in links) == (False, False, False)


def test_home_links_staff_to_flower_admin_and_all_orders(client, staff_user, settings):
    settings.FLOWER_URL = "http://127.0.0.1:5599/"
    client.force_login(staff_user)

    links = _home_links(client)

    assert (links["Flower"], links["Admin"], links["All orders"]) == (
        "http://127.0.0.1:5599/",
        reverse("admin:index"),
        reverse("orders-api:admin-order-list"),
    )


def test_home_hides_flower_when_its_url_is_empty(client, staff_user, settings):
    settings.FLOWER_URL = ""
    client.force_login(staff_user)

    assert "Flower" not in _home_links(client)


@pytest.mark.parametrize(
    ("environment", "flower_url"),
    [
        ({}, "http://127.0.0.1:5555/"),
        ({"FLOWER_PORT": "6123"}, "http://127.0.0.1:6123/"),  # the port `make run` chose
        ({"FLOWER_PORT": "127.0.0.1:6124"}, "http://127.0.0.1:6124/"),  # compose's host:port form
        ({"FLOWER_PORT": "6123", "FLOWER_URL": "https://flower.example.com/"}, "https://flower.example.com/"),
    ],
)
def test_flower_url_follows_the_flower_port(environment, flower_url):
    env = {k: v for k, v in os.environ.items() if k not in ("FLOWER_PORT", "FLOWER_URL")}
    code = "import django; django.setup(); from django.conf import settings; print(settings.FLOWER_URL)"

    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, **environment, "DJANGO_SETTINGS_MODULE": "config.settings.base"},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip() == flower_url


class RawForm(HTMLParser):
    """The text of the browsable API's raw-data POST form (<textarea name="_content">)."""

    def __init__(self, html: str):
        super().__init__()
        self.content, self._inside = "", False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self._inside = tag == "textarea" and dict(attrs).get("name") == "_content"

    def handle_endtag(self, tag):
        self._inside = False

    def handle_data(self, data):
        if self._inside:
            self.content += data


@pytest.mark.parametrize(
    ("url_name", "fields"),
    [
        ("orders-api:order-list", {"items"}),
        ("orders-api:product-list", {"name", "description", "category", "price", "stock"}),
    ],
)
def test_post_form_prefills_what_to_send(client, staff_user, url_name, fields):
    client.force_login(staff_user)

    response = client.get(reverse(url_name), HTTP_ACCEPT="text/html")

    assert set(json.loads(RawForm(response.content.decode()).content)) == fields
