"""Tasks: thin entry points, the beat schedule, and a real worker running the whole path."""

import pytest
from django.conf import settings as django_settings

from codecheck.models import Check, CodeFile
from codecheck.services import code_file_upload
from codecheck.tasks import check_email_sweep_task, check_email_task, codecheck_run_task
from codecheck.tests.conftest import sample, upload
from codecheck.tests.factories import CodeFileFactory
from config.celery import app
from conftest import wait_until


def test_beat_schedule_names_the_codecheck_tasks():
    schedule = django_settings.CELERY_BEAT_SCHEDULE

    assert schedule["codecheck-run"] == {
        "task": codecheck_run_task.name,
        "schedule": float(django_settings.CODECHECK_INTERVAL_SECONDS),
    }
    assert schedule["codecheck-email-sweep"]["task"] == check_email_sweep_task.name
    assert {codecheck_run_task.name, check_email_task.name, check_email_sweep_task.name} <= set(app.tasks)


@pytest.mark.django_db
def test_run_task_checks_pending_files(user, mailoutbox):
    CodeFileFactory(owner=user, file__data=sample("errors"))

    result = codecheck_run_task.apply()

    assert result.get() == 1
    assert Check.objects.get().findings_count == 4


@pytest.mark.django_db
def test_email_tasks_send_and_sweep(user, mailoutbox, django_capture_on_commit_callbacks):
    code_file = CodeFileFactory(owner=user)
    with django_capture_on_commit_callbacks():
        codecheck_run_task.apply()
    check = Check.objects.get(file=code_file)

    sent = check_email_task.apply(args=[check.pk]).get()
    swept = check_email_sweep_task.apply().get()

    assert (sent, swept, len(mailoutbox)) == (True, [], 1)
    assert mailoutbox[0].alternatives[0][1] == "text/html"


@pytest.mark.e2e
def test_worker_checks_an_upload_and_emails_the_report(celery_worker, user):
    code_file, _ = code_file_upload(owner=user, upload=upload("app.py", sample("errors")))

    codecheck_run_task.delay()

    check = wait_until(lambda: Check.objects.filter(file=code_file, email_sent=True).first(), timeout=60)
    code_file.refresh_from_db()
    assert (check.version, check.passed, check.findings_count) == (1, False, 4)
    assert check.email_sent_at is not None
    assert code_file.status == CodeFile.Status.CHECKED
