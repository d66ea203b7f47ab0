"""The web interface in headless Chromium: sign up, upload, get checked, see the finding and the emailed mark;
the page of a waiting file updates itself, then stops asking; uploaded markup stays text."""

import json
import time
from pathlib import Path

import pytest
from django.urls import reverse

from codecheck.models import Check
from codecheck.services import code_file_upload, codecheck_run
from codecheck.tasks import check_email_task
from codecheck.tests.conftest import upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def screenshots(tmp_path_factory) -> Path:
    """PNGs of each page the tests show, to look at (``--basetemp`` keeps them in a known place)."""
    return tmp_path_factory.mktemp("screenshots")


def test_sign_up_upload_check_and_see_the_finding_and_emailed_mark(
    browser, live_server, smtp_server, tmp_path: Path, screenshots
):
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
    browser.save_screenshot(str(screenshots / "file-list.png"))
    browser.find_element(By.LINK_TEXT, "app.py").click()

    findings = [
        (f.get_attribute("data-line"), f.text) for f in browser.find_elements(By.CSS_SELECTOR, "[data-testid=finding]")
    ]
    line_one = browser.find_element(By.CSS_SELECTOR, "#L1 td.code").text
    mark = browser.find_element(By.CSS_SELECTOR, "[data-testid=review] [data-testid=email-mark]").text
    status_after = browser.find_element(By.CSS_SELECTOR, "[data-testid=status]").text
    browser.save_screenshot(str(screenshots / "file-page.png"))
    browser.get(live_server.url + reverse("codecheck:check-list"))
    browser.save_screenshot(str(screenshots / "check-list.png"))
    check.refresh_from_db()
    assert flash.startswith("Uploaded app.py (version 1)")
    assert (status_before, listed_status, status_after) == ("waiting for check", "1 finding", "1 finding")
    assert line_one == "import os"
    assert findings == [("1", "col 1 F401 'os' imported but unused")]
    assert mark == f"report emailed {check.email_sent_at:%Y-%m-%d %H:%M} UTC"
    assert [m["To"] for m in smtp_server.messages] == ["ann@example.com"]


XSS = "</pre><script>alert(1)</script>"
UNTRUSTED = (
    f"ЗАГОЛОВОК = '{XSS}'\n"
    f"# <img src=x onerror=alert(2)> {XSS}\n"
    "def приветствие( имя ):\n"
    '    """<b>Привет</b>, мир"""\n'
    "    return имя+1\n"
).encode()


def _page_requests(browser, url: str) -> int:
    """Requests for ``url`` that Chromium logged since the last call (the log is drained)."""
    count = 0
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent" and message["params"]["request"]["url"] == url:
            count += 1
    return count


def test_a_waiting_file_page_updates_itself_then_stops_asking(browser, live_server, client, user, screenshots):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    code_file, _ = code_file_upload(owner=user, upload=upload("привет.py", UNTRUSTED))
    client.force_login(user)
    browser.get(live_server.url + "/health/")
    browser.add_cookie({"name": "sessionid", "value": client.cookies["sessionid"].value, "path": "/"})
    url = live_server.url + reverse("codecheck:file-detail", args=[code_file.pk])
    browser.get(url)
    waiting = browser.find_element(By.CSS_SELECTOR, "[data-testid=waiting]").text
    status_before = browser.find_element(By.CSS_SELECTOR, "[data-testid=status]").text
    browser.execute_script("window.notReloaded = true;")
    browser.save_screenshot(str(screenshots / "file-waiting.png"))

    codecheck_run()
    WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.CSS_SELECTOR, "[data-testid=review]"))
    polls_while_waiting = _page_requests(browser, url)
    time.sleep(8)  # longer than any delay between two polls at this point
    polls_after = _page_requests(browser, url)

    browser.set_window_size(1280, 1400)
    browser.save_screenshot(str(screenshots / "file-checked.png"))
    lines = {
        row.get_attribute("data-line"): row.find_element(By.CSS_SELECTOR, "td.code").text
        for row in browser.find_elements(By.CSS_SELECTOR, "tr.source-line")
    }
    codes = [f.get_attribute("data-code") for f in browser.find_elements(By.CSS_SELECTOR, "[data-testid=finding]")]
    injected = browser.execute_script("return document.querySelectorAll('main script, main img').length")
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is what raises
    assert waiting.startswith("Version 1 is waiting for its check")
    assert status_before == "waiting for check"
    assert browser.execute_script("return window.notReloaded") is True
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=status]").text == "3 findings"
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-autorefresh]")
    assert polls_while_waiting >= 2  # the first load, then at least one fetch by the page
    assert polls_after == 0
    assert lines["1"] == f"ЗАГОЛОВОК = '{XSS}'"
    assert lines["2"] == f"# <img src=x onerror=alert(2)> {XSS}"
    assert lines["4"] == '    """<b>Привет</b>, мир"""'
    assert codes == ["E302", "E201", "E202"]  # flake8 --isolated on this file
    assert injected == 1  # the page's own refresh.js; nothing from the upload


def test_a_later_version_shows_what_is_new_and_fixed(browser, live_server, client, user, screenshots):
    from selenium.webdriver.common.by import By

    code_file, _ = code_file_upload(owner=user, upload=upload("app.py", b"import os\nimport sys\n\nprint(sys)\n"))
    codecheck_run()
    code_file_upload(owner=user, upload=upload("app.py", b"import sys\n\n\nprint(sys)\nx=1\n"))
    codecheck_run()
    code_file_upload(owner=user, upload=upload("app.py", b"import sys\n"))
    client.force_login(user)
    browser.get(live_server.url + "/health/")
    browser.add_cookie({"name": "sessionid", "value": client.cookies["sessionid"].value, "path": "/"})

    browser.get(live_server.url + reverse("codecheck:file-detail", args=[code_file.pk]))
    waiting = browser.find_element(By.CSS_SELECTOR, "[data-testid=waiting]").text
    browser.save_screenshot(str(screenshots / "file-waiting-with-earlier-check.png"))
    browser.find_element(By.LINK_TEXT, "its source and findings").click()
    new = [f.text for f in browser.find_elements(By.CSS_SELECTOR, ".finding-new")]
    fixed = [f.text for f in browser.find_elements(By.CSS_SELECTOR, "[data-testid=fixed] .finding")]
    browser.save_screenshot(str(screenshots / "check-page-new-and-fixed.png"))
    browser.back()
    browser.find_element(By.LINK_TEXT, "version 1").click()
    first_lines = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "tr.source-line td.code")]
    browser.save_screenshot(str(screenshots / "check-page.png"))

    assert waiting.startswith("Version 3 is waiting for its check")
    assert waiting.endswith("The check of version 2: 1 finding its source and findings")
    assert new == ["col 2 E225 missing whitespace around operator NEW"]
    assert fixed == ["was line 1, col 1 F401 'os' imported but unused"]
    assert first_lines == ["import os", "import sys", "", "print(sys)"]
