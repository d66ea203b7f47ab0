"""The web interface in headless Chromium: sign up, upload, get checked, see the finding and the emailed mark."""

import os
import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from codecheck.models import Check
from codecheck.services import codecheck_run
from codecheck.tasks import check_email_task

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser():
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        reason = f"headless Chromium not installed ({CHROMIUM}, {CHROMEDRIVER})"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking"):
        options.add_argument(arg)
    options.add_argument("--window-size=1280,1000")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def test_sign_up_upload_check_and_see_the_finding_and_emailed_mark(browser, live_server, smtp_server, tmp_path: Path):
    from selenium.webdriver.common.by import By

    source = tmp_path / "app.py"
    source.write_text("import os\n")

    browser.get(live_server.url + reverse("accounts:signup"))
    browser.find_element(By.NAME, "email").send_keys("ann@example.com")
    browser.find_element(By.NAME, "password").send_keys("correct-horse-battery")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    browser.find_element(By.CSS_SELECTOR, "[data-testid=current-user]")

    browser.get(live_server.url + reverse("codecheck:file-list"))
    browser.find_element(By.ID, "upload-file").send_keys(str(source))
    browser.find_element(By.CSS_SELECTOR, "[data-testid=upload-form] button[type=submit]").click()
    flash = browser.find_element(By.CSS_SELECTOR, ".alert-success").text
    status_before = browser.find_element(By.CSS_SELECTOR, "[data-testid=file-row] [data-testid=status]").text

    codecheck_run()  # what the beat task runs
    check = Check.objects.get()
    check_email_task.apply(args=[check.pk])  # what the worker runs next, against a real SMTP server
    browser.refresh()
    listed_status = browser.find_element(By.CSS_SELECTOR, "[data-testid=file-row] [data-testid=status]").text
    browser.find_element(By.LINK_TEXT, "app.py").click()

    findings = [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in browser.find_elements(By.CSS_SELECTOR, "[data-testid=findings] tbody tr")
    ]
    mark = browser.find_element(By.CSS_SELECTOR, "[data-testid=email-mark]").text
    status_after = browser.find_element(By.CSS_SELECTOR, "[data-testid=status]").text
    check.refresh_from_db()
    assert flash.startswith("Uploaded app.py (version 1)")
    assert (status_before, listed_status, status_after) == ("new", "checked", "checked")
    assert findings == [["1", "1", "F401", "'os' imported but unused"]]
    assert mark == f"report emailed {check.email_sent_at:%Y-%m-%d %H:%M:%S} UTC"
    assert [m["To"] for m in smtp_server.messages] == ["ann@example.com"]
