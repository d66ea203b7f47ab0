"""The front door in headless Chromium: sign up, every product from the home page, staff to a real Flower.

Each page is screenshotted so a person can look at them (``--basetemp`` keeps
them in a known place).
"""

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from conftest import BASE_DIR, free_port, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Card link -> the browsable API page's title.
API_PAGES = {
    "Your files": "Files",
    "Upload a file": "Upload a file",
    "Deals": "Deals",
    "Products": "Products",
    "Your orders": "Orders",
}
FAVICON_JS = """
const done = arguments[arguments.length - 1];
const icon = document.querySelector('link[rel~="icon"]');
if (!icon) { done(null); return; }
fetch(icon.href).then(r => done([r.status, r.headers.get('Content-Type')]), e => done(String(e)));
"""


@pytest.fixture
def shots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def flower(settings):
    """A real Flower on the test's broker; the home page is pointed at it."""
    port = free_port()
    # Flower takes every FLOWER_* variable as one of its options: the caller's (CI exports
    # compose's FLOWER_PORT=host:port, not a number) would stop it at start.
    env = {name: value for name, value in os.environ.items() if not name.startswith("FLOWER_")}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    command = [sys.executable, "-m", "celery", "-A", "config", "flower", "--address=127.0.0.1", f"--port={port}"]
    process = subprocess.Popen(
        command, cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}/"

    def answers() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            return process.poll() is not None  # stop waiting if it died; the test then fails on the page

    wait_until(answers, timeout=60)
    settings.FLOWER_URL = url
    yield url
    process.terminate()
    process.wait(timeout=20)


def _console_errors(browser) -> list[str]:
    """The console's errors since the last call (reading the log empties it)."""
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def _follow_from_home(browser, live_server, link_text: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(live_server.url + reverse("home"))
    browser.get(browser.find_element(By.LINK_TEXT, link_text).get_attribute("href"))


def test_sign_up_then_every_product_from_the_home_page(browser, live_server, shots: Path):
    from selenium.webdriver.common.by import By

    errors: dict[str, list[str]] = {}
    browser.get(live_server.url + reverse("home"))
    browser.save_screenshot(str(shots / "01-home-visitor.png"))
    visitor_links = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "[data-testid^=card-] a")]
    browser.find_element(By.LINK_TEXT, "Sign up").click()
    browser.find_element(By.NAME, "email").send_keys("ivan@example.com")
    browser.find_element(By.NAME, "username").send_keys("Иван")
    browser.find_element(By.NAME, "password").send_keys("correct-horse-battery")
    browser.save_screenshot(str(shots / "02-signup.png"))
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    welcome = browser.find_element(By.CSS_SELECTOR, ".alert-success").text
    browser.save_screenshot(str(shots / "03-home-after-signup.png"))
    errors["home and sign-up"] = _console_errors(browser)

    pages = {}
    for number, link in enumerate(API_PAGES, start=4):
        _follow_from_home(browser, live_server, link)
        pages[link] = (
            browser.find_element(By.TAG_NAME, "h1").text,
            browser.title,
            browser.execute_async_script(FAVICON_JS),
        )
        browser.save_screenshot(str(shots / f"{number:02}-{link.lower().replace(' ', '-')}.png"))
        errors[link] = _console_errors(browser)
    _follow_from_home(browser, live_server, "Open code check")
    codecheck_heading = browser.find_element(By.TAG_NAME, "h1").text
    browser.save_screenshot(str(shots / "09-codecheck.png"))
    errors["code check"] = _console_errors(browser)
    _follow_from_home(browser, live_server, "Swagger UI")
    browser.find_element(By.CSS_SELECTOR, ".swagger-ui .title")
    browser.save_screenshot(str(shots / "10-swagger.png"))
    errors["Swagger UI"] = _console_errors(browser)
    _follow_from_home(browser, live_server, "Redoc")
    redoc_title = browser.find_element(By.CSS_SELECTOR, "h1").text
    browser.save_screenshot(str(shots / "11-redoc.png"))
    errors["Redoc"] = _console_errors(browser)

    assert "Flower" not in visitor_links
    assert welcome.startswith("Welcome, Иван! Your account is ready.")
    assert pages == {
        link: (title, f"{title} · Four products API", [200, "image/svg+xml"]) for link, title in API_PAGES.items()
    }
    assert codecheck_heading == "My Python files"
    assert redoc_title.startswith("Four products API")
    # The upload endpoint answers only POST: its page is the upload form, shown beside GET's 405.
    [upload_405] = errors.pop("Upload a file")
    assert "/api/upload/" in upload_405
    assert "405" in upload_405
    # Redoc's bundle fetches its footer logo from cdn.redoc.ly; the page's policy refuses it.
    [redoc_logo] = errors.pop("Redoc")
    assert "cdn.redoc.ly" in redoc_logo
    assert "Content Security Policy" in redoc_logo
    assert errors == {page: [] for page in errors}


def test_staff_follows_the_home_page_to_flower(browser, live_server, flower, shots: Path):
    from selenium.webdriver.common.by import By

    UserFactory(username="Админ", email="admin@example.com", is_staff=True)
    browser.get(live_server.url + reverse("accounts:login"))
    browser.find_element(By.NAME, "username").send_keys("admin@example.com")
    browser.find_element(By.NAME, "password").send_keys("correct-horse-battery")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    welcome = browser.find_element(By.CSS_SELECTOR, ".alert-success").text
    browser.save_screenshot(str(shots / "20-home-staff.png"))

    browser.find_element(By.LINK_TEXT, "Flower").click()
    wait_until(lambda: "Flower" in browser.title, timeout=20)
    browser.save_screenshot(str(shots / "21-flower.png"))

    assert welcome.startswith("Welcome back, Админ.")
    assert browser.current_url == flower


@pytest.mark.parametrize(
    ("url_name", "sample", "status"),
    [("files-api:upload", "photo.png", "HTTP 201 Created"), ("deals-api:deals", "deals.csv", "HTTP 200 OK")],
)
def test_browsable_api_form_uploads_a_file(browser, live_server, user, shots: Path, url_name, sample, status):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.expected_conditions import staleness_of
    from selenium.webdriver.support.wait import WebDriverWait

    browser.get(f"{live_server.url}{reverse('accounts:login')}?next={reverse(url_name)}")
    browser.find_element(By.NAME, "username").send_keys(user.email)
    browser.find_element(By.NAME, "password").send_keys("correct-horse-battery")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    browser.find_element(By.CSS_SELECTOR, "#post-object-form input[type=file]").send_keys(
        str(BASE_DIR / "samples" / sample)
    )
    submit = browser.find_element(By.CSS_SELECTOR, "#post-object-form button")
    submit.click()
    # The form's page has a .response-info too: read the answer's once the form's page is gone.
    WebDriverWait(browser, 30).until(staleness_of(submit))
    answer = browser.find_element(By.CSS_SELECTOR, ".response-info").text
    browser.save_screenshot(str(shots / f"30-{sample}-uploaded.png"))
    next_upload = browser.find_elements(By.CSS_SELECTOR, "#post-object-form input[type=file]")

    assert answer.startswith(status)
    assert browser.find_element(By.CSS_SELECTOR, "body").get_attribute("class") == ""  # the answer is shown
    assert len(next_upload) == 1  # and a form for the next file
