"""Web pages: home, sign up, log in, log out."""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView, LogoutView
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.forms import LoginForm, SignupForm


@dataclass
class Card:
    """One product on the home page: what it does and where to use it."""

    key: str
    title: str
    text: str
    links: list[tuple[str, str]] = field(default_factory=list)


def _home_cards(user) -> list[Card]:
    def page(name: str) -> str:
        # Pages that need an account go through the log-in page and come back.
        url = reverse(name)
        if user.is_authenticated:
            return url
        return f"{reverse('accounts:login')}?{urlencode({'next': url})}"

    cards = [
        Card(
            "codecheck",
            "Code check",
            "Upload Python files: flake8 reviews every new version and emails you the report.",
            [("Open code check", page("codecheck:file-list"))],
        ),
        Card(
            "files",
            "Files",
            "Upload any file: its type is detected, images get a thumbnail, and you can download it again.",
            [("Your files", page("files-api:file-list")), ("Upload a file", page("files-api:upload"))],
        ),
        Card(
            "deals",
            "Deals",
            "Upload a deals CSV and see the five customers who spent the most, with their gems.",
            [("Deals", page("deals-api:deals"))],
        ),
        Card(
            "shop",
            "Shop",
            "Browse products and place orders; stock is kept exact and receipts arrive by email.",
            [("Products", page("orders-api:product-list")), ("Your orders", page("orders-api:order-list"))],
        ),
        Card(
            "docs",
            "API documentation",
            "Every endpoint, request and error answer, with tokens for your own scripts.",
            [("Swagger UI", reverse("swagger-ui")), ("Redoc", reverse("redoc")), ("OpenAPI schema", reverse("schema"))],
        ),
    ]
    if user.is_staff:
        staff = [("Admin", reverse("admin:index")), ("All orders", reverse("orders-api:admin-order-list"))]
        if settings.FLOWER_URL:
            staff.append(("Flower", settings.FLOWER_URL))
        cards.append(Card("staff", "Staff", "Manage users, orders and products; watch the Celery workers.", staff))
    return cards


def home(request):
    return render(request, "home.html", {"cards": _home_cards(request.user)})


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        if user is not None:
            login(request, user, backend="accounts.backends.EmailOrUsernameBackend")
            messages.success(request, f"Welcome, {user.get_username()}! Your account is ready.")
            return redirect("home")
    return render(request, "accounts/signup.html", {"form": form})


class UserLoginView(LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, f"Welcome back, {form.get_user().get_username()}.")
        return response


class UserLogoutView(LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        # After the session is gone: the message travels in its own cookie.
        messages.info(request, "You have logged out.")
        return response
