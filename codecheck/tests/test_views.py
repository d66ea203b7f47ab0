"""Web pages: my files, upload/replace/delete with flash messages, check history, isolation."""

import re
from http import HTTPStatus
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from codecheck.models import CodeFile
from codecheck.tests.conftest import upload
from codecheck.tests.factories import CheckFactory, CodeFileFactory, FindingFactory

pytestmark = pytest.mark.django_db

NOT_PY = "Only Python source files ending in .py are accepted; 'notes.txt' is not one."


@pytest.fixture
def web(client, user):
    client.force_login(user)
    return client


def _statuses(body: str) -> list[str]:
    """The text of every status badge on the page, in order."""
    return re.findall(r'<span class="badge [^"]*" data-testid="status"[^>]*>([^<]*)</span>', body)


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_pages_need_login(client):
    response = client.get(reverse("codecheck:file-list"))

    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("accounts:login"))


def test_file_list_shows_only_my_active_files(web, user, other_user):
    CodeFileFactory(owner=user, name="mine.py", status=CodeFile.Status.UPDATED)
    CodeFileFactory(owner=user, name="gone.py", deleted_at=timezone.now())
    CodeFileFactory(owner=other_user, name="theirs.py")

    response = web.get(reverse("codecheck:file-list"))

    body = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "mine.py" in body
    assert _statuses(body) == ["waiting for check"]
    assert "gone.py" not in body
    assert "theirs.py" not in body
    assert 'name="csrfmiddlewaretoken"' in body


def test_upload_and_replace_through_the_form(web, user):
    created = web.post(reverse("codecheck:file-upload"), {"file": upload("app.py", b"x = 1\n")}, follow=True)
    code_file = CodeFile.objects.get()
    replaced = web.post(
        reverse("codecheck:file-replace", args=[code_file.pk]), {"file": upload("app.py", b"x = 2\n")}, follow=True
    )
    again = web.post(reverse("codecheck:file-upload"), {"file": upload("app.py", b"x = 3\n")}, follow=True)

    code_file.refresh_from_db()
    assert _messages(created) == ["Uploaded app.py (version 1); it will be checked shortly."]
    assert _messages(replaced) == ["Replaced app.py (version 2); it will be checked shortly."]
    assert _messages(again) == ["Replaced app.py (version 3); it will be checked shortly."]
    assert (code_file.version, code_file.status) == (3, "updated")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"file": upload("notes.txt")}, f"Upload rejected: {NOT_PY}"),
        ({}, "Upload rejected: This field is required."),
    ],
)
def test_rejected_upload_is_a_flash_message(web, data, message):
    response = web.post(reverse("codecheck:file-upload"), data, follow=True)

    assert response.redirect_chain == [(reverse("codecheck:file-list"), HTTPStatus.FOUND)]
    assert _messages(response) == [message]
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert not CodeFile.objects.exists()


@pytest.mark.parametrize("data", [{"file": upload("notes.txt")}, {}])
def test_rejected_replace_is_a_flash_message(web, user, data):
    code_file = CodeFileFactory(owner=user)

    response = web.post(reverse("codecheck:file-replace", args=[code_file.pk]), data, follow=True)

    code_file.refresh_from_db()
    assert _messages(response)[0].startswith("Upload rejected: ")
    assert code_file.version == 1


def test_delete_through_the_form(web, user):
    code_file = CodeFileFactory(owner=user, name="old.py")
    CheckFactory(file=code_file)

    response = web.post(reverse("codecheck:file-delete", args=[code_file.pk]), follow=True)

    code_file.refresh_from_db()
    assert _messages(response) == ["Deleted old.py; its check history stays under All checks."]
    assert code_file.deleted_at is not None
    history = web.get(reverse("codecheck:check-list")).content.decode()
    assert "old.py" in history
    assert "deleted" in history


@pytest.mark.parametrize("action", ["file-detail", "file-replace", "file-delete"])
def test_another_users_file_is_404(web, other_user, action):
    code_file = CodeFileFactory(owner=other_user)
    url = reverse(f"codecheck:{action}", args=[code_file.pk])

    response = web.get(url) if action == "file-detail" else web.post(url, {"file": upload()})

    code_file.refresh_from_db()
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert (code_file.version, code_file.deleted_at) == (1, None)


def test_file_page_shows_the_history_with_one_verdict_each_and_the_emailed_mark(web, user):
    code_file = CodeFileFactory(owner=user, name="app.py", version=2, status=CodeFile.Status.CHECKED)
    sent_at = timezone.now().replace(microsecond=0)
    failed = CheckFactory(file=code_file, version=1, passed=False, findings_count=1)
    FindingFactory(check_log=failed, line=7, column=3, code="E225", message="missing whitespace around operator")
    CheckFactory(file=code_file, version=2, passed=True, email_sent=True, email_sent_at=sent_at)

    response = web.get(reverse("codecheck:file-detail", args=[code_file.pk]))
    first = web.get(reverse("codecheck:check-detail", args=[failed.pk]))

    body = response.content.decode()
    verdicts = re.findall(r'data-testid="verdict"[^>]*>([^<]*)</span>', body)
    assert _statuses(body) == ["passed"]
    assert verdicts == ["passed", "passed", "1 finding"]  # the review of version 2, then the history
    assert f'report emailed <time datetime="{sent_at.isoformat()}">{sent_at:%Y-%m-%d %H:%M} UTC</time>' in body
    assert "report not sent yet" in body
    assert body.index(">version 2<") < body.index(">version 1<")
    assert "<td>7</td><td>3</td><td><code>E225</code></td><td>missing whitespace around operator</td>" in (
        first.content.decode()
    )


@pytest.mark.parametrize(
    ("status", "passed", "error", "findings", "expected"),
    [
        (CodeFile.Status.CHECKED, True, "", 0, "passed"),
        (CodeFile.Status.CHECKED, False, "", 2, "2 findings"),
        (CodeFile.Status.CHECKED, False, "flake8 exceeded the time limit of 30 s", 0, "could not be checked"),
        (CodeFile.Status.UPDATED, False, "", 2, "waiting for check"),
    ],
)
def test_file_list_shows_one_status_per_file(web, user, status, passed, error, findings, expected):
    code_file = CodeFileFactory(owner=user, version=2, status=status)
    CheckFactory(file=code_file, version=1, passed=False, findings_count=3)
    if status == CodeFile.Status.CHECKED:
        CheckFactory(file=code_file, version=2, passed=passed, error=error, findings_count=findings)

    body = web.get(reverse("codecheck:file-list")).content.decode()

    assert _statuses(body) == [expected]
    assert body.count('class="badge') == 1


@pytest.mark.parametrize("zone", ["UTC", "Europe/Moscow", "America/Caracas"])
def test_times_show_their_time_zone(web, user, settings, zone):
    settings.TIME_ZONE = zone
    code_file = CodeFileFactory(owner=user, status=CodeFile.Status.CHECKED)
    check = CheckFactory(file=code_file, version=1)

    body = web.get(reverse("codecheck:file-detail", args=[code_file.pk])).content.decode()

    finished = check.finished_at.astimezone(ZoneInfo(zone))
    assert f'checked <time datetime="{finished.isoformat()}">{finished:%Y-%m-%d %H:%M %Z}</time>' in body


def test_file_list_paginates(web, user):
    CodeFileFactory.create_batch(25, owner=user)

    first = web.get(reverse("codecheck:file-list"))
    second = web.get(reverse("codecheck:file-list"), {"page": 2})

    assert len(first.context["page"].object_list) == 20
    assert len(second.context["page"].object_list) == 5
    assert "Page 2 of 2" in second.content.decode()
