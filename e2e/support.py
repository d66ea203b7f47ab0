"""Helpers of the end-to-end suite (fixtures are in conftest.py)."""

import os
import time
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TIMEOUT = 15


def env_or_skip(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        if os.environ.get("E2E_REQUIRED") == "1":
            pytest.fail(f"E2E_REQUIRED=1 but {name} is not set")
        pytest.skip(f"set {name} to run this test")
    return value.rstrip("/")


def wait_until(predicate, timeout: float = 60, interval: float = 0.5, what: str = "condition"):
    """Poll until ``predicate()`` is truthy; return its value or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"{what}: not met within {timeout}s")


class Api:
    """A JSON API client with one user's bearer token."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.request(method, f"{self.base_url}{path}", **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs) -> requests.Response:
        return self.request("PATCH", path, **kwargs)


def login(base_url: str, body: dict) -> Api:
    response = requests.post(f"{base_url}/api/auth/login/", json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return Api(base_url, response.json()["access"])
