"""Writes of codecheck: uploads, overwrites and deletes, the check run, and the emailed report."""

import io
import logging
import smtplib
import time
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import PurePath
from typing import Protocol

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from codecheck.listing import source_text
from codecheck.models import Check, CodeFile, Finding
from codecheck.review import FindingDict, finding_dict, findings_diff
from codecheck.runner import CheckOutcome, SourceFile, get_checker
from codecheck.selectors import (
    FILE_NOT_FOUND,
    PENDING,
    check_unsent_qs,
    code_file_get,
    code_file_list,
    code_file_qs_for_claim,
)
from codecheck.tasks import check_email_task
from config.errors import ApplicationError, NotFound, PayloadTooLarge
from config.links import absolute_url

logger = logging.getLogger(__name__)


class EmailSendError(Exception):
    """The SMTP server refused or could not be reached; the task retries."""


# --- Uploads -------------------------------------------------------------------


@dataclass(frozen=True)
class UploadIn:
    name: str
    data: bytes


def _declared_or_utf8_decodes(data: bytes) -> bool:
    """True if the bytes read as text in their PEP 263 declared encoding, or in UTF-8."""
    try:
        declared, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:  # an unknown or contradictory coding declaration
        declared = None
    for encoding in dict.fromkeys(filter(None, [declared, "utf-8"])):
        try:
            # bytes.decode() refuses a codec that is not a text encoding
            # (rot13, base64, zlib...) with LookupError, as it does an unknown one.
            data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
        return True
    return False


def upload_read(*, upload: UploadedFile) -> UploadIn:
    """Accept a ``.py`` file (any case) of at most CODECHECK_MAX_UPLOAD_BYTES that reads as text."""
    name = PurePath((upload.name or "").replace("\\", "/")).name.strip()
    if PurePath(name).suffix.lower() != ".py" or not PurePath(name).stem:
        raise ApplicationError(
            f"Only Python source files ending in .py are accepted; {name or 'the upload'!r} is not one.",
            code="not_python",
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise ApplicationError("The file name must not contain control characters; rename the file.", code="bad_name")
    limit = settings.CODECHECK_MAX_UPLOAD_BYTES
    if upload.size is not None and upload.size > limit:
        raise PayloadTooLarge(f"{name} is {upload.size} bytes; the limit is {limit} bytes.")
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"{name} is over the limit of {limit} bytes.")
    if b"\x00" in data or not _declared_or_utf8_decodes(data):
        raise ApplicationError(
            f"{name} is not text: save it as UTF-8 (or declare its encoding in a '# -*- coding: ... -*-' line).",
            code="not_text",
        )
    return UploadIn(name=name, data=data)


def _overwrite(*, code_file: CodeFile, upload: UploadIn) -> CodeFile:
    previous = code_file.file.name
    code_file.file.save(upload.name, ContentFile(upload.data), save=False)
    code_file.version += 1
    code_file.status = CodeFile.Status.UPDATED
    code_file.size = len(upload.data)
    code_file.uploaded_at = timezone.now()
    code_file.save(update_fields=["file", "version", "status", "size", "uploaded_at"])
    if previous:
        transaction.on_commit(partial(code_file.file.storage.delete, previous))
    return code_file


def _discard_stored(code_file: CodeFile) -> None:
    if code_file.file.name:
        code_file.file.storage.delete(code_file.file.name)


@transaction.atomic
def code_file_upload(*, owner, upload: UploadedFile) -> tuple[CodeFile, bool]:
    """Store a new file, or overwrite the owner's active file of the same name.

    Returns ``(file, created)``. The active-name unique index settles two uploads
    of one name racing: the loser overwrites the winner's row instead.
    """
    upload_in = upload_read(upload=upload)
    existing = (
        CodeFile.objects.select_for_update().filter(owner=owner, name=upload_in.name, deleted_at__isnull=True).first()
    )
    if existing is not None:
        return _overwrite(code_file=existing, upload=upload_in), False
    code_file = CodeFile(owner=owner, name=upload_in.name, size=len(upload_in.data), uploaded_at=timezone.now())
    code_file.file.save(upload_in.name, ContentFile(upload_in.data), save=False)
    try:
        with transaction.atomic():
            code_file.save()
    except IntegrityError:
        _discard_stored(code_file)
        existing = CodeFile.objects.select_for_update().get(owner=owner, name=upload_in.name, deleted_at__isnull=True)
        return _overwrite(code_file=existing, upload=upload_in), False
    return code_file, True


@transaction.atomic
def code_file_overwrite(*, user, pk: int, upload: UploadedFile) -> CodeFile:
    """Replace an active file's content (its name stays); the version goes up and it is checked again."""
    code_file_get(user=user, pk=pk)  # 404 before reading the upload
    upload_in = upload_read(upload=upload)
    code_file = code_file_list(user=user).select_for_update().filter(pk=pk).first()
    if code_file is None:
        raise NotFound(FILE_NOT_FOUND)
    return _overwrite(code_file=code_file, upload=upload_in)


def code_file_delete(*, user, pk: int) -> None:
    """Soft delete: the file leaves the lists, its checks stay."""
    code_file_get(user=user, pk=pk)
    deleted = CodeFile.objects.filter(owner=user, pk=pk, deleted_at__isnull=True).update(deleted_at=timezone.now())
    if not deleted:
        raise NotFound(FILE_NOT_FOUND)


# --- The check run ---------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    file_id: int
    version: int
    data: bytes | None  # None: the stored bytes were missing
    name: str = ""  # the file's name: flake8 checks it under this name


def _read_stored(code_file: CodeFile) -> bytes | None:
    if not code_file.file.name:
        return None
    try:
        with code_file.file.storage.open(code_file.file.name, "rb") as handle:
            return handle.read(settings.CODECHECK_MAX_UPLOAD_BYTES + 1)
    except (FileNotFoundError, ValueError):
        return None


@transaction.atomic
def code_file_claim_batch(*, size: int) -> list[Claim]:
    """Claim up to ``size`` pending files for this run.

    Rows are locked with SKIP LOCKED, so a concurrent run takes other rows
    instead of waiting, and marked with the version claimed, so after this
    commits no other run selects that version until the claim goes stale. The
    bytes are read under the lock: an overwrite waits for the lock and removes
    the old bytes only after its own commit.
    """
    now = timezone.now()
    rows = list(code_file_qs_for_claim(now=now)[:size])
    for row in rows:
        row.claimed_version, row.claimed_at = row.version, now
    CodeFile.objects.bulk_update(rows, ["claimed_version", "claimed_at"])
    return [Claim(file_id=row.pk, version=row.version, data=_read_stored(row), name=row.name) for row in rows]


@dataclass(frozen=True)
class CheckResult:
    claim: Claim
    outcome: CheckOutcome
    started_at: datetime
    finished_at: datetime


def _previous_findings(*, fresh: list[CheckResult]) -> dict[int, list[FindingDict]]:
    """For each file of the batch, the findings of its latest earlier check that flake8
    completed (a check that failed to run says nothing about the code). Two queries."""
    earlier: dict[int, tuple[int, int]] = {}  # file id -> (version, check id)
    claimed = {r.claim.file_id: r.claim.version for r in fresh}
    rows = Check.objects.filter(file_id__in=claimed, error="").values_list("file_id", "version", "pk")
    for file_id, version, pk in rows:
        if version < claimed[file_id] and version > earlier.get(file_id, (0, 0))[0]:
            earlier[file_id] = (version, pk)
    file_of_check = {pk: file_id for file_id, (_, pk) in earlier.items()}
    found: dict[int, list[FindingDict]] = {file_id: [] for file_id in earlier}
    for f in Finding.objects.filter(check_log_id__in=file_of_check):
        found[file_of_check[f.check_log_id]].append(
            finding_dict(line=f.line, column=f.column, code=f.code, message=f.message)
        )
    return found


def _change(*, result: CheckResult, previous: dict[int, list[FindingDict]]) -> tuple[list, list]:
    if result.outcome.error or result.claim.file_id not in previous:
        return [], []
    current = [
        finding_dict(line=f.line, column=f.column, code=f.code[:16], message=f.message) for f in result.outcome.findings
    ]
    return findings_diff(previous=previous[result.claim.file_id], current=current)


@transaction.atomic
def checks_record(*, results: list[CheckResult]) -> list[Check]:
    """Store the checks of a batch in one transaction and queue their emails; a version
    already recorded is skipped, so recording twice is a no-op.

    The file rows are locked in pk order. A file becomes ``checked`` only if it
    still has the version checked: one re-uploaded during its check stays
    ``updated`` and the next run checks the new version.
    """
    files = {
        f.pk: f
        for f in CodeFile.objects.select_for_update().filter(pk__in=[r.claim.file_id for r in results]).order_by("pk")
    }
    done = set(Check.objects.filter(file_id__in=files).values_list("file_id", "version"))
    fresh = []
    for result in results:
        key = (result.claim.file_id, result.claim.version)
        if result.claim.file_id in files and key not in done:
            done.add(key)
            fresh.append(result)
    previous = _previous_findings(fresh=fresh)
    changes = [_change(result=r, previous=previous) for r in fresh]
    checks = Check.objects.bulk_create(
        Check(
            file_id=r.claim.file_id,
            version=r.claim.version,
            started_at=r.started_at,
            finished_at=r.finished_at,
            passed=r.outcome.passed,
            findings_count=len(r.outcome.findings),
            error=r.outcome.error,
            new_findings=new,
            fixed_findings=fixed,
            source=source_text(r.claim.data) if r.claim.data is not None else "",
        )
        for r, (new, fixed) in zip(fresh, changes, strict=True)
    )
    Finding.objects.bulk_create(
        Finding(check_log=check, line=f.line, column=f.column, code=f.code[:16], message=f.message)
        for check, r in zip(checks, fresh, strict=True)
        for f in r.outcome.findings
    )
    changed = []
    for r in fresh:
        code_file = files[r.claim.file_id]
        if code_file.claimed_version == r.claim.version:
            code_file.claimed_version = code_file.claimed_at = None
        if code_file.version == r.claim.version and code_file.status in PENDING:
            code_file.status = CodeFile.Status.CHECKED
        changed.append(code_file)
    CodeFile.objects.bulk_update(changed, ["claimed_version", "claimed_at", "status"])
    for check in checks:
        check_email_task.delay_on_commit(check.pk)
    return checks


def check_record(*, claim: Claim, outcome: CheckOutcome, started_at, finished_at) -> Check | None:
    """Record one check (see ``checks_record``); None if that version was already recorded."""
    checks = checks_record(results=[CheckResult(claim, outcome, started_at, finished_at)])
    return checks[0] if checks else None


class Checker(Protocol):
    """What the run needs of a checker: a ``CheckerPool``."""

    def check_many(self, sources: Iterable[SourceFile]) -> Iterator[CheckOutcome]: ...


MISSING = CheckOutcome(error="The stored file is missing; upload it again.")


def _check_submit(*, claims: list[Claim], checker: Checker) -> Iterator[CheckOutcome]:
    """Hand a claimed batch to the checker (a pool starts on it at once); outcomes come in order."""
    return checker.check_many([SourceFile(claim.name, claim.data) for claim in claims if claim.data is not None])


def _check_record(*, claims: list[Claim], outcomes: Iterator[CheckOutcome]) -> int:
    """Wait for a batch's outcomes, then record it in one transaction."""
    results = []
    started_at = timezone.now()
    for claim in claims:
        outcome = next(outcomes) if claim.data is not None else MISSING
        finished_at = timezone.now()
        results.append(
            CheckResult(claim, outcome, outcome.started_at or started_at, outcome.finished_at or finished_at)
        )
        started_at = finished_at
    return len(checks_record(results=results))


def codecheck_run(*, checker: Checker | None = None, budget_seconds: float | None = None) -> int:
    """Check every new or updated file, in claimed batches, until none is left or the budget is spent.

    flake8 runs outside any transaction; each batch is recorded as soon as it is
    checked. While a batch is checked the next one is claimed and handed to the
    checker, so a pool's processes keep working while this thread claims and
    records. Returns the number of checks recorded.
    """
    checker = checker or get_checker()
    budget = settings.CODECHECK_RUN_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget

    def claim_next() -> tuple[list[Claim], Iterator[CheckOutcome]]:
        claims = code_file_claim_batch(size=settings.CODECHECK_CLAIM_BATCH) if time.monotonic() < deadline else []
        return claims, _check_submit(claims=claims, checker=checker)

    recorded = 0
    claims, outcomes = claim_next()
    while claims:
        following = claim_next()
        recorded += _check_record(claims=claims, outcomes=outcomes)
        claims, outcomes = following
    logger.info("codecheck run recorded %d checks", recorded)
    return recorded


# --- The emailed report ------------------------------------------------------------


def _report_message(check: Check) -> EmailMultiAlternatives:
    code_file = check.file
    context = {
        "check": check,
        "code_file": code_file,
        "findings": list(check.findings.all()),
        "page_url": absolute_url(reverse("codecheck:file-detail", args=[code_file.pk])),
    }
    verdict = "passed" if check.passed else ("could not be checked" if check.error else "failed")
    subject = f"[codecheck] {code_file.name} v{check.version} {verdict}"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("codecheck/email/report.txt", context),
        to=[code_file.owner.email],
    )
    message.attach_alternative(render_to_string("codecheck/email/report.html", context), "text/html")
    return message


def check_email_send(*, check_id: int) -> bool:
    """Email the owner the check's report once; record when it went, or why it did not.

    Sending is outside any lock (SMTP can be slow), so a worker killed between
    the send and the update may send a second copy: at least once, never lost.
    """
    check = Check.objects.select_related("file__owner").filter(pk=check_id).first()
    if check is None or check.email_sent:
        return False
    try:
        _report_message(check).send()
    except (smtplib.SMTPException, OSError) as exc:
        Check.objects.filter(pk=check.pk).update(
            email_attempts=F("email_attempts") + 1, email_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise EmailSendError(f"could not email the report of check {check.pk}: {exc}") from exc
    Check.objects.filter(pk=check.pk, email_sent=False).update(
        email_sent=True, email_sent_at=timezone.now(), email_attempts=F("email_attempts") + 1, email_error=""
    )
    return True


def check_email_sweep(*, limit: int = 500) -> list[int]:
    """Re-enqueue reports still unsent past CODECHECK_EMAIL_STALE_SECONDS (lost publish, retries spent).

    Returns the ids published; with the broker down none is, and the next sweep tries again.
    """
    ids = list(
        check_unsent_qs(older_than_seconds=settings.CODECHECK_EMAIL_STALE_SECONDS)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return [pk for pk in ids if check_email_task.publish_quietly((pk,))]
