"""accounts over HTTP: sign up, log in, who am I; the web pages render with their static files."""

import re

import requests

from e2e.support import TIMEOUT


def test_sign_up_and_log_in(base_url, fresh_credentials):
    credentials = fresh_credentials
    registered = requests.post(f"{base_url}/api/auth/register/", json=credentials, timeout=TIMEOUT)
    duplicate = requests.post(f"{base_url}/api/auth/register/", json=credentials, timeout=TIMEOUT)
    wrong = requests.post(
        f"{base_url}/api/auth/login/", json={**credentials, "password": "not-the-password"}, timeout=TIMEOUT
    )
    tokens = requests.post(f"{base_url}/api/auth/login/", json=credentials, timeout=TIMEOUT)
    me = requests.get(
        f"{base_url}/api/auth/me/", headers={"Authorization": f"Bearer {tokens.json()['access']}"}, timeout=TIMEOUT
    )

    assert registered.status_code == 201, registered.text
    assert registered.json()["email"] == credentials["email"]
    assert duplicate.status_code == 400
    assert wrong.status_code == 401
    assert tokens.status_code == 200
    assert me.status_code == 200
    assert me.json()["id"] == registered.json()["id"]
    assert me.json()["email"] == credentials["email"]


def test_web_sign_up_and_log_in_pages_render(base_url):
    for path in ("/accounts/signup/", "/accounts/login/"):
        page = requests.get(f"{base_url}{path}", timeout=TIMEOUT)
        assert page.status_code == 200, path
        assert "<form" in page.text, path
        assert "csrfmiddlewaretoken" in page.text, path
    # Static files are collected into the image at build time and served by whitenoise.
    stylesheets = re.findall(r'href="(/static/[^"]+\.css)"', page.text)
    assert stylesheets
    for stylesheet in stylesheets:
        response = requests.get(f"{base_url}{stylesheet}", timeout=TIMEOUT)
        assert response.status_code == 200, stylesheet
        assert response.headers["Content-Type"].startswith("text/css"), stylesheet
