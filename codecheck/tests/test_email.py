"""The report email: text and HTML through a real SMTP server, retries, and the sweeper."""

import re
from datetime import timedelta
from http import HTTPStatus

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from codecheck.models import Check
from codecheck.services import EmailSendError, check_email_send, check_email_sweep
from codecheck.tasks import check_email_task
from codecheck.tests.factories import CheckFactory, CodeFileFactory, FindingFactory
from conftest import free_port

pytestmark = pytest.mark.django_db


def _failed_check(user):
    check = CheckFactory(file=CodeFileFactory(owner=user, name="app.py", version=2), passed=False, findings_count=1)
    FindingFactory(check_log=check, line=3, column=5, code="E225", message="missing whitespace around operator")
    return check


def _bodies(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_report_of_a_failed_check_is_emailed_with_findings(user, smtp_server):
    check = _failed_check(user)

    sent = check_email_send(check_id=check.pk)

    check.refresh_from_db()
    (message,) = smtp_server.messages
    text, html = _bodies(message)
    assert sent is True
    assert (message["To"], message["Subject"]) == (user.email, "[codecheck] app.py v2 failed")
    assert "Failed: 1 finding." in text
    assert "app.py:3:5: E225 missing whitespace around operator" in text
    assert "<td>E225</td><td>missing whitespace around operator</td>" in html
    assert (check.email_sent, check.email_attempts, check.email_error) == (True, 1, "")
    assert timezone.now() - check.email_sent_at < timedelta(seconds=30)


@pytest.mark.parametrize(
    ("passed", "error", "subject", "phrase"),
    [
        (True, "", "[codecheck] app.py v1 passed", "Passed: flake8 found nothing to fix."),
        (False, "flake8 crashed: LookupError", "[codecheck] app.py v1 could not be checked", "Could not be checked"),
    ],
)
def test_report_says_passed_or_why_it_could_not_check(user, smtp_server, passed, error, subject, phrase):
    check = CheckFactory(file=CodeFileFactory(owner=user, name="app.py"), passed=passed, error=error)

    check_email_send(check_id=check.pk)

    (message,) = smtp_server.messages
    text, html = _bodies(message)
    assert message["Subject"] == subject
    assert phrase in text
    assert phrase in re.sub(r"<[^>]+>", "", html)


def test_report_is_sent_once(user, smtp_server):
    check = _failed_check(user)
    check_email_send(check_id=check.pk)

    again = check_email_send(check_id=check.pk)
    missing = check_email_send(check_id=987654)

    assert (again, missing, len(smtp_server.messages)) == (False, False, 1)


def test_send_failure_is_recorded_and_retried_with_backoff(user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    check = _failed_check(user)

    result = check_email_task.apply(args=[check.pk])

    check.refresh_from_db()
    assert isinstance(result.result, EmailSendError)
    assert check.email_sent is False
    assert check.email_attempts == check_email_task.max_retries + 1
    assert check.email_error.startswith("ConnectionRefusedError")


class _FlakyInbox:
    """Answers 451 (try again later) to the first message, then accepts."""

    def __init__(self):
        self.calls = 0
        self.accepted: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.calls += 1
        if self.calls == 1:
            return "451 Requested action aborted: local error in processing"
        self.accepted.append(envelope.content)
        return "250 OK"


def test_temporary_smtp_failure_is_retried_until_sent(user, settings):
    inbox = _FlakyInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    check = _failed_check(user)

    try:
        check_email_task.apply(args=[check.pk])
    finally:
        controller.stop()

    check.refresh_from_db()
    assert (inbox.calls, len(inbox.accepted)) == (2, 1)
    assert (check.email_sent, check.email_attempts, check.email_error) == (True, 2, "")


def _stale_and_fresh(user, settings):
    stale = CheckFactory(file=CodeFileFactory(owner=user))
    CheckFactory(file=CodeFileFactory(owner=user))  # fresh: its own task may still be retrying
    sent = CheckFactory(file=CodeFileFactory(owner=user), email_sent=True, email_sent_at=timezone.now())
    old = timezone.now() - timedelta(seconds=settings.CODECHECK_EMAIL_STALE_SECONDS + 5)
    Check.objects.filter(pk__in=[stale.pk, sent.pk]).update(created_at=old)
    return stale


def test_sweep_reenqueues_only_stale_unsent_reports(user, settings):
    stale = _stale_and_fresh(user, settings)

    published = check_email_sweep()

    assert published == [stale.pk]


def test_sweep_with_the_broker_down_publishes_nothing_and_does_not_raise(user, settings, broker_down):
    _stale_and_fresh(user, settings)

    published = check_email_sweep()

    assert published == []
    assert Check.objects.filter(email_sent=False).count() == 2


def test_report_links_to_the_files_page_under_the_site_url(user, smtp_server, settings, client):
    settings.SITE_URL = "https://code.example.org"
    check = _failed_check(user)

    check_email_send(check_id=check.pk)

    (message,) = smtp_server.messages
    text, html = _bodies(message)
    link = f"https://code.example.org/codecheck/files/{check.file.pk}/"
    assert f"The source with each finding at its line: {link}" in text
    assert re.findall(r'<a href="([^"]+)"', html) == [link]
    client.force_login(user)
    page = client.get(link.removeprefix(settings.SITE_URL))
    assert page.status_code == HTTPStatus.OK
    assert "app.py" in page.content.decode()


def test_report_times_name_their_zone(user, smtp_server):
    check = _failed_check(user)

    check_email_send(check_id=check.pk)

    (message,) = smtp_server.messages
    text, _ = _bodies(message)
    assert f"Checked at {check.finished_at:%Y-%m-%d %H:%M:%S} UTC" in text
