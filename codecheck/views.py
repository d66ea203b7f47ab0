"""Web pages: my files (upload, replace, delete), a file's check history, all my checks."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from codecheck.forms import UploadForm
from codecheck.models import Check
from codecheck.selectors import check_list, check_list_for_file, code_file_get, code_file_list
from codecheck.services import code_file_delete, code_file_overwrite, code_file_upload
from config.errors import ApplicationError, NotFound

PAGE_SIZE = 20


def _page(request, queryset, size: int = PAGE_SIZE):
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def _form_error(request, form: UploadForm) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, f"Upload rejected: {error}")


@login_required
@require_GET
def file_list(request):
    latest = Prefetch("checks", queryset=Check.objects.order_by("-created_at", "-pk")[:1], to_attr="latest_checks")
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
    try:
        code_file = code_file_get(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    page = _page(request, check_list_for_file(code_file=code_file), size=10)
    return render(request, "codecheck/file_detail.html", {"code_file": code_file, "page": page, "form": UploadForm()})


@login_required
@require_GET
def check_history(request):
    page = _page(request, check_list(user=request.user))
    return render(request, "codecheck/check_list.html", {"page": page})
