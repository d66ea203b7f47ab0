"""Uploads, overwrites, deletes, and the check run's selection, claims and locking."""

import threading
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from codecheck.models import Check, CodeFile
from codecheck.runner import CheckOutcome, FindingOut, pool_from_settings
from codecheck.services import (
    check_record,
    code_file_claim_batch,
    code_file_delete,
    code_file_overwrite,
    code_file_upload,
    codecheck_run,
)
from codecheck.tests.conftest import overlapping_runs, sample, upload
from codecheck.tests.factories import CodeFileFactory
from config.errors import ApplicationError, NotFound, PayloadTooLarge

pytestmark = pytest.mark.django_db


def _stored(code_file: CodeFile) -> bytes:
    with default_storage.open(str(code_file.file.name), "rb") as handle:
        return handle.read()


# --- Uploads ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["module.py", "MODULE.PY", "Mixed.Py"])
def test_upload_accepts_py_in_any_case(user, name):
    code_file, created = code_file_upload(owner=user, upload=upload(name, b"x = 1\n"))

    code_file.refresh_from_db()
    assert created is True
    assert (code_file.name, code_file.status, code_file.version, code_file.size) == (name, "new", 1, 6)
    assert _stored(code_file) == b"x = 1\n"


@pytest.mark.parametrize(
    ("data", "accepted"),
    [
        (sample("latin1"), True),  # declared latin-1
        (b"# coding: no-such-codec\nx = 1\n", True),  # unknown declaration, but valid UTF-8
        (sample("rot13"), True),  # reads as UTF-8; flake8 itself fails on it later
        ("x = 'é'\n".encode(), True),
        (b"x = 1\x00\n", False),
        (b"\xff\xfe\x00x\x00", False),
        (sample("undeclared_latin1"), False),
    ],
)
def test_upload_requires_text(user, data, accepted):
    if accepted:
        code_file_upload(owner=user, upload=upload("m.py", data))
        assert CodeFile.objects.count() == 1
        return

    with pytest.raises(ApplicationError, match=r"m\.py is not text: save it as UTF-8"):
        code_file_upload(owner=user, upload=upload("m.py", data))
    assert not CodeFile.objects.exists()


@pytest.mark.parametrize("name", ["notes.txt", "module.pyc", "module.py.exe", ".py", "py", "module"])
def test_upload_rejects_other_extensions(user, name):
    with pytest.raises(ApplicationError, match=r"Only Python source files ending in \.py are accepted") as info:
        code_file_upload(owner=user, upload=upload(name))

    assert info.value.status_code == 400
    assert not CodeFile.objects.exists()


@pytest.mark.parametrize("name", ["a\x00b.py", "tab\tname.py", "bell\x07.py"])
def test_upload_rejects_control_characters_in_the_name(user, name):
    with pytest.raises(ApplicationError, match="must not contain control characters"):
        code_file_upload(owner=user, upload=upload(name))
    assert not CodeFile.objects.exists()


def test_upload_over_the_limit_is_413(user, settings):
    settings.CODECHECK_MAX_UPLOAD_BYTES = 10

    with pytest.raises(PayloadTooLarge, match="the limit is 10 bytes"):
        code_file_upload(owner=user, upload=upload("m.py", b"x = 100000\n"))
    assert not CodeFile.objects.exists()


def test_upload_of_an_active_name_overwrites_it(user, django_capture_on_commit_callbacks):
    first, _ = code_file_upload(owner=user, upload=upload("m.py", b"x = 1\n"))
    first_path = first.file.name

    with django_capture_on_commit_callbacks(execute=True):
        second, created = code_file_upload(owner=user, upload=upload("m.py", b"x = 2\n"))

    second.refresh_from_db()
    assert (created, second.pk, second.version, second.status) == (False, first.pk, 2, "updated")
    assert _stored(second) == b"x = 2\n"
    assert not default_storage.exists(first_path)


def test_upload_after_delete_starts_a_new_file(user):
    first, _ = code_file_upload(owner=user, upload=upload("m.py"))
    code_file_delete(user=user, pk=first.pk)

    second, created = code_file_upload(owner=user, upload=upload("m.py"))

    assert created is True
    assert second.pk != first.pk
    assert second.version == 1


def test_same_name_of_another_user_is_a_separate_file(user, other_user):
    mine, _ = code_file_upload(owner=user, upload=upload("m.py"))

    theirs, created = code_file_upload(owner=other_user, upload=upload("m.py"))

    assert created is True
    assert theirs.pk != mine.pk


def test_overwrite_bumps_version_and_marks_updated(user):
    code_file = CodeFileFactory(owner=user, status=CodeFile.Status.CHECKED, version=3)

    code_file_overwrite(user=user, pk=code_file.pk, upload=upload("other-name.py", b"y = 2\n"))

    code_file.refresh_from_db()
    assert (code_file.name.startswith("module_"), code_file.version, code_file.status) == (True, 4, "updated")
    assert _stored(code_file) == b"y = 2\n"


@pytest.mark.parametrize("whose", ["other", "deleted", "missing", "huge"])
def test_overwrite_or_delete_of_a_file_not_yours_is_not_found(user, other_user, whose):
    pk = {
        "other": lambda: CodeFileFactory(owner=other_user).pk,
        "deleted": lambda: CodeFileFactory(owner=user, deleted_at=timezone.now()).pk,
        "missing": lambda: 987654,
        "huge": lambda: 2**70,
    }[whose]()

    with pytest.raises(NotFound):
        code_file_overwrite(user=user, pk=pk, upload=upload())
    with pytest.raises(NotFound):
        code_file_delete(user=user, pk=pk)
    assert not CodeFile.objects.filter(version__gt=1).exists()


def test_delete_is_soft_and_keeps_checks(user):
    code_file = CodeFileFactory(owner=user)
    Check.objects.create(file=code_file, version=1, started_at=timezone.now(), finished_at=timezone.now(), passed=True)

    code_file_delete(user=user, pk=code_file.pk)

    code_file.refresh_from_db()
    assert code_file.deleted_at is not None
    assert Check.objects.filter(file=code_file).count() == 1


# --- The check run -------------------------------------------------------------------


def test_run_checks_new_and_updated_files_only(user, django_capture_on_commit_callbacks, checker):
    new = CodeFileFactory(owner=user, file__data=sample("errors"))
    updated = CodeFileFactory(owner=user, status=CodeFile.Status.UPDATED, version=2, file__data=sample("clean"))
    checked = CodeFileFactory(owner=user, status=CodeFile.Status.CHECKED)
    deleted = CodeFileFactory(owner=user, deleted_at=timezone.now())

    with django_capture_on_commit_callbacks() as callbacks:
        recorded = codecheck_run(checker=checker)

    assert recorded == 2
    assert sorted(Check.objects.values_list("file_id", "version", "passed", "findings_count")) == sorted(
        [(new.pk, 1, False, 4), (updated.pk, 2, True, 0)]
    )
    statuses = dict(CodeFile.objects.values_list("pk", "status"))
    assert statuses == {new.pk: "checked", updated.pk: "checked", checked.pk: "checked", deleted.pk: "new"}
    assert list(Check.objects.get(file=new).findings.values_list("line", "column", "code")) == [
        (1, 1, "F401"),
        (2, 1, "E302"),
        (2, 7, "E201"),
        (2, 9, "E202"),
    ]
    assert len(callbacks) == 2  # one report email per check, after commit
    assert CodeFile.objects.filter(claimed_version__isnull=False).count() == 0


def test_a_users_findings_do_not_depend_on_other_users_files(user, checker):
    """Another user's file of the same name, with a ``# noqa`` on every line, is checked first."""
    other = UserFactory()
    theirs = CodeFileFactory(owner=other, name="mod.py", file__data=b"a = 1  # noqa\nb = 2  # noqa\nc = (  # noqa\n")
    mine = [CodeFileFactory(owner=user, name=f"mod_{n}.py", file__data=b"a = 1\nb = 2\nc = (\n") for n in range(7)]
    mine.append(CodeFileFactory(owner=user, name="mod.py", file__data=b"a = 1\nb = 2\nc = (\n"))

    codecheck_run(checker=checker)

    assert Check.objects.get(file=theirs).passed is True
    for code_file in mine:
        check = Check.objects.get(file=code_file)
        assert list(check.findings.values_list("line", "column", "code", "message")) == [
            (3, 6, "E999", "SyntaxError: '(' was never closed")
        ]


def test_run_records_a_crash_as_a_failed_check(user, checker):
    code_file = CodeFileFactory(owner=user, file__data=sample("rot13"))

    codecheck_run(checker=checker)

    check = Check.objects.get(file=code_file)
    assert (check.passed, check.findings_count) == (False, 0)
    assert "rot13" in check.error
    code_file.refresh_from_db()
    assert code_file.status == "checked"


def test_run_records_a_missing_stored_file_as_a_failed_check(user, checker):
    code_file = CodeFileFactory(owner=user)
    default_storage.delete(code_file.file.name)

    codecheck_run(checker=checker)

    check = Check.objects.get(file=code_file)
    assert (check.passed, check.error) == (False, "The stored file is missing; upload it again.")


def test_run_stops_claiming_when_its_budget_is_spent(user, checker):
    CodeFileFactory(owner=user)

    assert codecheck_run(checker=checker, budget_seconds=0) == 0
    assert not Check.objects.exists()


def test_claimed_version_is_not_claimed_again_until_stale(user, settings):
    code_file = CodeFileFactory(owner=user)

    first = code_file_claim_batch(size=10)
    second = code_file_claim_batch(size=10)
    CodeFile.objects.filter(pk=code_file.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=settings.CODECHECK_CLAIM_TIMEOUT_SECONDS + 1)
    )
    after_timeout = code_file_claim_batch(size=10)

    assert [(c.file_id, c.version) for c in first] == [(code_file.pk, 1)]
    assert first[0].data == b"import os\n"
    assert second == []
    assert [(c.file_id, c.version) for c in after_timeout] == [(code_file.pk, 1)]


def test_reupload_during_a_check_is_checked_again_at_the_new_version(user, checker):
    code_file, _ = code_file_upload(owner=user, upload=upload("m.py", sample("errors")))
    (claim,) = code_file_claim_batch(size=10)
    code_file_upload(owner=user, upload=upload("m.py", sample("clean")))  # arrives mid-check
    record = check_record(
        claim=claim,
        outcome=checker.check(claim.data, claim.name),
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    code_file.refresh_from_db()
    status_after_old_check = code_file.status

    codecheck_run(checker=checker)

    code_file.refresh_from_db()
    assert (record.version, record.passed, status_after_old_check) == (1, False, "updated")
    assert list(Check.objects.order_by("version").values_list("version", "passed")) == [(1, False), (2, True)]
    assert code_file.status == "checked"


def test_recording_a_version_twice_is_a_no_op(user):
    code_file = CodeFileFactory(owner=user)
    (claim,) = code_file_claim_batch(size=10)
    now = timezone.now()

    first = check_record(claim=claim, outcome=CheckOutcome(), started_at=now, finished_at=now)
    second = check_record(
        claim=claim, outcome=CheckOutcome(findings=[FindingOut(1, 1, "F401", "x")]), started_at=now, finished_at=now
    )

    assert first is not None
    assert second is None
    assert list(Check.objects.values_list("file_id", "version", "passed")) == [(code_file.pk, 1, True)]


def test_check_of_a_file_deleted_mid_check_is_kept(user):
    code_file = CodeFileFactory(owner=user)
    (claim,) = code_file_claim_batch(size=10)
    code_file_delete(user=user, pk=code_file.pk)

    check = check_record(claim=claim, outcome=CheckOutcome(), started_at=timezone.now(), finished_at=timezone.now())

    assert check.file_id == code_file.pk
    assert Check.objects.filter(file__deleted_at__isnull=False).count() == 1


def test_claim_locks_pending_rows_with_skip_locked(user, postgres):
    CodeFileFactory(owner=user)

    with CaptureQueriesContext(connection) as queries:
        code_file_claim_batch(size=5)

    sql = [q["sql"] for q in queries.captured_queries]
    lock_at = next(i for i, s in enumerate(sql) if "FOR UPDATE OF" in s and "SKIP LOCKED" in s)
    update_at = next(i for i, s in enumerate(sql) if s.startswith('UPDATE "codecheck_codefile"'))
    assert lock_at < update_at
    assert "ORDER BY" in sql[lock_at]
    assert "LIMIT 5" in sql[lock_at]


@pytest.mark.django_db(transaction=True)
def test_overlapping_runs_never_check_a_version_twice(user, postgres, settings):
    settings.CODECHECK_CLAIM_BATCH = 2
    files = [CodeFileFactory(owner=user, file__data=f"X_{i} = {i}\n".encode()) for i in range(24)]

    results, counts = overlapping_runs(lambda: pool_from_settings(processes=1))

    assert sum(results) == len(files)
    assert sorted(counts.values()) == [1] * len(files)
    assert Check.objects.count() == len(files)
    assert set(CodeFile.objects.values_list("status", flat=True)) == {"checked"}


@pytest.mark.django_db(transaction=True)
def test_two_first_uploads_of_one_name_end_as_one_file(user, postgres):
    """The second upload's INSERT waits on the unique index, fails, and overwrites the winner."""
    from django.db import transaction

    first_inside = threading.Event()
    release_first = threading.Event()
    results: dict = {}

    def first() -> None:
        try:
            with transaction.atomic():
                results["first"] = code_file_upload(owner=user, upload=upload("race.py", b"x = 1\n"))
                first_inside.set()
                release_first.wait(10)
        finally:
            connection.close()

    def second() -> None:
        try:
            results["second"] = code_file_upload(owner=user, upload=upload("race.py", b"x = 2\n"))
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    first_inside.wait(10)
    threads[1].start()
    threads[1].join(0.5)  # blocked on the unique index while the first is uncommitted
    second_was_blocked = threads[1].is_alive()
    release_first.set()
    for thread in threads:
        thread.join(10)

    (code_file,) = CodeFile.objects.all()
    assert second_was_blocked
    assert results["first"][1] is True
    assert results["second"] == (code_file, False)
    assert (code_file.version, code_file.status, _stored(code_file)) == (2, "updated", b"x = 2\n")


def test_model_strings(user):
    code_file = CodeFileFactory(owner=user, name="a.py", version=2)
    check = Check.objects.create(
        file=code_file, version=2, started_at=timezone.now(), finished_at=timezone.now(), passed=False
    )
    finding = check.findings.create(line=3, column=4, code="E225", message="missing whitespace")

    assert [str(code_file), str(check), str(finding)] == [
        "a.py v2",
        f"check of {code_file.pk} v2: failed",
        "3:4 E225 missing whitespace",
    ]
