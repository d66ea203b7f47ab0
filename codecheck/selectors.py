"""Reads of code files and checks, always narrowed to what the user may see."""

from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from codecheck.models import Check, CodeFile, Finding
from config.child_rows import child_rows
from config.errors import NotFound

PENDING = (CodeFile.Status.NEW, CodeFile.Status.UPDATED)
FILE_NOT_FOUND = "No such file: it does not exist, was deleted, or is not yours."


def code_file_list(*, user) -> QuerySet[CodeFile]:
    """The user's active (not deleted) files, newest upload first."""
    return CodeFile.objects.filter(owner=user, deleted_at__isnull=True)


MAX_PK = 2**63 - 1


def code_file_get(*, user, pk: int) -> CodeFile:
    if not 0 < pk <= MAX_PK:  # beyond bigint the database would raise, not miss
        raise NotFound(FILE_NOT_FOUND)
    try:
        return code_file_list(user=user).get(pk=pk)
    except CodeFile.DoesNotExist:
        raise NotFound(FILE_NOT_FOUND) from None


# The columns of a finding that answers and pages show.
FINDING_FIELDS = ("line", "column", "code", "message")


# Checks with what their answers show of their file (``file_name``, ``file_deleted_at``:
# two columns of a join, not a second model instance per row) and ``finding_list``:
# their findings in file order (flake8's within a line and column), read in the checks'
# own query (config.child_rows). Built once: a request only narrows it (filter() copies
# a queryset, never changes it).
_CHECKS_WITH_FINDINGS = Check.objects.annotate(  # type: ignore[no-redef]  # Check declares them
    file_name=F("file__name"),
    file_deleted_at=F("file__deleted_at"),
    finding_list=child_rows(Finding, "check_log", FINDING_FIELDS, order_by=("line", "column", "pk")),
)


# What a list of checks shows of each check (the API's answer and the page).
CHECK_LIST_COLUMNS = (
    *("id", "file", "version", "passed", "error", "findings_count", "new_findings", "fixed_findings"),
    *("started_at", "finished_at", "created_at", "email_sent", "email_sent_at", "email_error"),
)


def check_list(*, user, passed: bool | None = None, email_sent: bool | None = None) -> QuerySet[Check]:
    """Every check of the user's files, deleted files included (their history stays)."""
    qs = _CHECKS_WITH_FINDINGS.filter(file__owner=user)
    if passed is not None:
        qs = qs.filter(passed=passed)
    if email_sent is not None:
        qs = qs.filter(email_sent=email_sent)
    # A list shows what CHECK_LIST_COLUMNS name: no sources (up to the upload limit
    # per check, read for nothing).
    return qs.only(*CHECK_LIST_COLUMNS)


CHECK_NOT_FOUND = "No such check: it does not exist or is not yours."


def check_get(*, user, pk: int) -> Check:
    """A check of one of the user's files (deleted ones included); staff may read any."""
    if not 0 < pk <= MAX_PK:
        raise NotFound(CHECK_NOT_FOUND)
    qs = _CHECKS_WITH_FINDINGS if user.is_staff else _CHECKS_WITH_FINDINGS.filter(file__owner=user)
    try:
        return qs.get(pk=pk)
    except Check.DoesNotExist:
        raise NotFound(CHECK_NOT_FOUND) from None


def check_with_findings(*, check_id: int) -> Check:
    return _CHECKS_WITH_FINDINGS.get(pk=check_id)


def check_list_for_file(*, code_file: CodeFile) -> QuerySet[Check]:
    return _CHECKS_WITH_FINDINGS.filter(file=code_file)


def check_latest_for_file(*, code_file: CodeFile) -> Check | None:
    """The check of the file's highest checked version, its findings in file order."""
    return check_list_for_file(code_file=code_file).order_by("-version").first()


def code_file_pending_qs(*, now=None) -> QuerySet[CodeFile]:
    """Files waiting for a check of their current version that no live run has claimed."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.CODECHECK_CLAIM_TIMEOUT_SECONDS)
    unclaimed = Q(claimed_version__isnull=True) | ~Q(claimed_version=F("version")) | Q(claimed_at__lt=stale)
    return CodeFile.objects.filter(unclaimed, status__in=PENDING, deleted_at__isnull=True)


def code_file_qs_for_claim(*, now=None) -> QuerySet[CodeFile]:
    """Locks pending rows oldest first; rows another run holds are skipped, not waited for."""
    return code_file_pending_qs(now=now).order_by("uploaded_at", "pk").select_for_update(skip_locked=True, of=("self",))


def check_unsent_qs(*, older_than_seconds: int) -> QuerySet[Check]:
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return Check.objects.filter(email_sent=False, created_at__lt=cutoff)


def code_file_waiting_count() -> int:
    """Active files whose current version has no check yet (claimed by a run or not)."""
    return CodeFile.objects.filter(status__in=PENDING, deleted_at__isnull=True).count()


def check_email_unsent_count() -> int:
    """Check reports not emailed yet (queued, retrying, or out of retries)."""
    return Check.objects.filter(email_sent=False).count()
