"""Site-wide web pieces: the browsable API's page titles and forms, and /favicon.ico."""

from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from rest_framework import renderers, status
from rest_framework.views import get_view_name

# The title of each API view's browsable page (and of its breadcrumb), by class
# path: DRF would derive "Product List Api" from the class name. Named here, in one
# place, so the views stay as they are; config/tests/test_web.py fails for a
# browsable view missing from this table.
VIEW_TITLES = {
    "accounts.api.views.RegisterApi": "Register",
    "accounts.api.views.LoginApi": "Log in",
    "accounts.api.views.RefreshApi": "Refresh the access token",
    "accounts.api.views.MeApi": "Your account",
    "files.api.views.FileUploadApi": "Upload a file",
    "files.api.views.FileListApi": "Files",
    "files.api.views.FileDetailApi": "File",
    "files.api.views.FileDownloadApi": "Download a file",
    "files.api.views.FileThumbnailApi": "Thumbnail",
    "files.api.views.FileSignedApi": "Signed download link",
    "codecheck.api.views.FileListApi": "Code check files",
    "codecheck.api.views.FileDetailApi": "Code check file",
    "codecheck.api.views.FileChecksApi": "Checks of a file",
    "codecheck.api.views.CheckListApi": "Code checks",
    "codecheck.api.views.CheckSarifApi": "Check as SARIF",
    "deals.api.views.DealsApi": "Deals",
    "orders.api.views.ProductListApi": "Products",
    "orders.api.views.ProductDetailApi": "Product",
    "orders.api.views.OrderListApi": "Orders",
    "orders.api.views.OrderDetailApi": "Order",
    "orders.api.views.OrderEventListApi": "Order timeline",
    "orders.api.views.OrderReceiptApi": "Order receipt",
    "orders.api.views.AdminOrderListApi": "All orders (staff)",
    "config.health.HealthApi": "Health",
}


def view_title_key(view_class: type) -> str:
    return f"{view_class.__module__}.{view_class.__qualname__}"


def view_name(view) -> str:
    """REST_FRAMEWORK["VIEW_NAME_FUNCTION"]: a view's own ``name`` (DRF's override,
    set by viewsets), else its entry in VIEW_TITLES, else DRF's name without "Api"."""
    if getattr(view, "name", None) is not None:
        return view.name
    title = VIEW_TITLES.get(view_title_key(type(view)))
    if title is not None:
        return title
    return get_view_name(view).removesuffix(" Api")


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's browsable API, with a fresh form after a successful POST.

    DRF builds the form below a POST's answer from the answer's serializer; an
    output serializer has no input fields, so after an upload the file field was
    gone. A failed POST keeps its form (the input serializer, with its errors).
    """

    def get_rendered_html_form(self, data, view, method, request):
        response = self.renderer_context.get("response")
        if method == "POST" == request.method and response is not None and status.is_success(response.status_code):
            data = None
        return super().get_rendered_html_form(data, view, method, request)


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    # Pages link their icon; this answers browsers and tools that ask for the
    # conventional address anyway (JSON pages, Redoc), so their console shows no 404.
    return HttpResponseRedirect(static("favicon.ico"))
