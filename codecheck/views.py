"""Web pages: my files (upload, replace, delete), a file's checked source and history, all my checks."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from codecheck.forms import UploadForm
from codecheck.listing import rule_url, source_listing
from codecheck.models import Check
from codecheck.selectors import (
    CHECK_NOT_FOUND,
    PENDING,
    check_get,
    check_latest_for_file,
    check_list,
    check_list_for_file,
    code_file_get,
    code_file_list,
)
from codecheck.services import code_file_delete, code_file_overwrite, code_file_upload
from config.errors import ApplicationError, NotFound

PAGE_SIZE = 20
# A waiting file's page fetches itself again after this many seconds (then a little
# later each time); static/codecheck/refresh.js.
REFRESH_SECONDS = 2


def _page(request, queryset, size: int = PAGE_SIZE):
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def _form_error(request, form: UploadForm) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, f"Upload rejected: {error}")


def _review(check: Check | None) -> dict:
    """What the review of a check shows: its source with findings, and what was fixed."""
    if check is None:
        return {"check": None}
    findings = check.finding_list
    fixed = [{**f, "url": rule_url(f["code"])} for f in check.fixed_findings]
    listing = source_listing(text=check.source, findings=findings, new_findings=check.new_findings)
    return {"check": check, "listing": listing, "fixed": fixed}


@login_required
@require_GET
def file_list(request):
    latest = Prefetch("checks", queryset=Check.objects.order_by("-version", "-pk")[:1], to_attr="latest_checks")
    page = _page(request, code_file_list(user=request.user).prefetch_related(latest))
    return render(request, "codecheck/file_list.html", {"page": page, "form": UploadForm()})


@login_required
@require_POST
def file_upload(request):
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        _form_error(request, form)
        return redirect("codecheck:file-list")
    try:
        code_file, created = code_file_upload(owner=request.user, upload=form.cleaned_data["file"])
    except ApplicationError as exc:
        messages.error(request, f"Upload rejected: {exc.message}")
        return redirect("codecheck:file-list")
    verb = "Uploaded" if created else "Replaced"
    messages.success(request, f"{verb} {code_file.name} (version {code_file.version}); it will be checked shortly.")
    return redirect("codecheck:file-list")


@login_required
@require_POST
def file_replace(request, pk: int):
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        _form_error(request, form)
        return redirect("codecheck:file-list")
    try:
        code_file = code_file_overwrite(user=request.user, pk=pk, upload=form.cleaned_data["file"])
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, f"Upload rejected: {exc.message}")
        return redirect("codecheck:file-list")
    messages.success(request, f"Replaced {code_file.name} (version {code_file.version}); it will be checked shortly.")
    return redirect("codecheck:file-list")


@login_required
@require_POST
def file_delete(request, pk: int):
    try:
        code_file = code_file_get(user=request.user, pk=pk)
        code_file_delete(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, f"Deleted {code_file.name}; its check history stays under All checks.")
    return redirect("codecheck:file-list")


@login_required
@require_GET
def file_detail(request, pk: int):
    """The latest check's source with its findings, and the history. While the current
    version waits for its check the page says so, links to the earlier check, and
    refreshes itself."""
    try:
        code_file = code_file_get(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    latest = check_latest_for_file(code_file=code_file)
    waiting = code_file.status in PENDING
    context = {
        "code_file": code_file,
        "latest": latest,
        "waiting": waiting,
        "refresh_seconds": REFRESH_SECONDS,
        "page": _page(request, check_list_for_file(code_file=code_file).order_by("-version"), size=10),
        "form": UploadForm(),
        # While waiting the page is fetched again and again: an earlier version's listing
        # (up to thousands of highlighted lines) is a link away instead.
        **(_review(None) if waiting else _review(latest)),
    }
    return render(request, "codecheck/file_detail.html", context)


@login_required
@require_GET
def check_detail(request, pk: int):
    """One check's source and findings, also of a deleted file or an earlier version.
    Only the owner's: staff read others' checks in the admin, as with files."""
    try:
        check = check_get(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if check.file.owner_id != request.user.pk:
        raise Http404(CHECK_NOT_FOUND)
    return render(request, "codecheck/check_detail.html", {"code_file": check.file, **_review(check)})


@login_required
@require_GET
def check_history(request):
    page = _page(request, check_list(user=request.user))
    return render(request, "codecheck/check_list.html", {"page": page})
