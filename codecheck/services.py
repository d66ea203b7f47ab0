"""Writes of codecheck: uploads, overwrites and deletes, the check run, and the emailed report."""

import codecs
import io
import logging
import smtplib
import time
import tokenize
from dataclasses import dataclass
from functools import partial
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from codecheck.models import Check, CodeFile, Finding
from codecheck.runner import CheckerProcess, CheckOutcome, get_checker
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
            if codecs.lookup(encoding)._is_text_encoding:
                data.decode(encoding)
                return True
        except (LookupError, UnicodeDecodeError):
            continue
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


def _read_stored(code_file: CodeFile) -> bytes | None:
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
    return [Claim(file_id=row.pk, version=row.version, data=_read_stored(row)) for row in rows]


@transaction.atomic
def check_record(*, claim: Claim, outcome: CheckOutcome, started_at, finished_at) -> Check | None:
    """Store the check of ``claim.version`` and queue its email; a second record of it is a no-op.

    The file becomes ``checked`` only if it still has the version checked: a
    file re-uploaded during the check stays ``updated`` and is checked again.
    """
    code_file = CodeFile.objects.select_for_update().filter(pk=claim.file_id).first()
    if code_file is None or Check.objects.filter(file=code_file, version=claim.version).exists():
        return None
    check = Check.objects.create(
        file=code_file,
        version=claim.version,
        started_at=started_at,
        finished_at=finished_at,
        passed=outcome.passed,
        findings_count=len(outcome.findings),
        error=outcome.error,
    )
    Finding.objects.bulk_create(
        Finding(check_log=check, line=f.line, column=f.column, code=f.code[:16], message=f.message)
        for f in outcome.findings
    )
    fields = []
    if code_file.claimed_version == claim.version:
        code_file.claimed_version = code_file.claimed_at = None
        fields += ["claimed_version", "claimed_at"]
    if code_file.version == claim.version and code_file.status in PENDING:
        code_file.status = CodeFile.Status.CHECKED
        fields.append("status")
    if fields:
        code_file.save(update_fields=fields)
    check_email_task.delay_on_commit(check.pk)
    return check


def _check_batch(*, claims: list[Claim], checker: CheckerProcess) -> int:
    """Check a batch and record each result as it arrives (flake8 works on the next file meanwhile)."""
    recorded = 0
    missing = [claim for claim in claims if claim.data is None]
    present = [claim for claim in claims if claim.data is not None]
    outcomes = checker.check_many(claim.data for claim in present)
    started_at = timezone.now()
    for claim, outcome in [
        *((claim, CheckOutcome(error="The stored file is missing; upload it again.")) for claim in missing),
        *zip(present, outcomes, strict=True),
    ]:
        finished_at = timezone.now()
        if check_record(claim=claim, outcome=outcome, started_at=started_at, finished_at=finished_at) is not None:
            recorded += 1
        started_at = finished_at
    return recorded


def codecheck_run(*, checker: CheckerProcess | None = None, budget_seconds: float | None = None) -> int:
    """Check every new or updated file, in claimed batches, until none is left or the budget is spent.

    flake8 runs outside any transaction; each check is recorded as soon as it
    finishes. Returns the number of checks recorded.
    """
    checker = checker or get_checker()
    budget = settings.CODECHECK_RUN_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    recorded = 0
    while time.monotonic() < deadline:
        claims = code_file_claim_batch(size=settings.CODECHECK_CLAIM_BATCH)
        if not claims:
            break
        recorded += _check_batch(claims=claims, checker=checker)
    logger.info("codecheck run recorded %d checks", recorded)
    return recorded


# --- The emailed report ------------------------------------------------------------


def _report_message(check: Check) -> EmailMultiAlternatives:
    code_file = check.file
    context = {"check": check, "code_file": code_file, "findings": list(check.findings.all())}
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


def check_email_sweep(*, limit: int = 500) -> int:
    """Re-enqueue reports still unsent past CODECHECK_EMAIL_STALE_SECONDS (lost publish, retries spent)."""
    ids = list(
        check_unsent_qs(older_than_seconds=settings.CODECHECK_EMAIL_STALE_SECONDS)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in ids if check_email_task.publish_quietly((pk,)))
