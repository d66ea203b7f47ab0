"""Fixtures of the end-to-end suite: a running stack reached over HTTP only.

Environment:
- ``BASE_URL``: the stack's published address (the proxy), e.g. http://127.0.0.1:18000
- ``MAIL_API_URL``: the mail catcher's HTTP API, e.g. http://127.0.0.1:18025
- ``E2E_STAFF_USERNAME`` / ``E2E_STAFF_PASSWORD``: a staff user (created with
  ``manage.py createsuperuser --noinput``; .ci/run does it before the tests)
- ``WEB_DIRECT_URL``: one web replica's own port, bypassing the proxy (keep-alive test)
- ``E2E_COMPOSE``: the ``docker compose ...`` command of the project (``docker`` tests)

Outside its own pytest.ini (``pytest -c e2e/pytest.ini e2e``) nothing here is
collected, so the unit suite never waits on a stack that is not there.
"""

import uuid
from pathlib import Path

import pytest
import requests

from e2e.support import HERE, TIMEOUT, Api, env_or_skip, login


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    return True if config.rootpath != HERE else None


@pytest.fixture(scope="session")
def base_url() -> str:
    return env_or_skip("BASE_URL")


@pytest.fixture(scope="session")
def mail_api_url() -> str:
    return env_or_skip("MAIL_API_URL")


def new_credentials() -> dict:
    """Sign-up data unique per call and per run."""
    tag = uuid.uuid4().hex[:12]
    return {"email": f"e2e-{tag}@example.com", "password": f"e2e-{tag}-Correct-Horse"}


@pytest.fixture
def fresh_credentials() -> dict:
    return new_credentials()


@pytest.fixture(scope="session")
def credentials() -> dict:
    return new_credentials()


@pytest.fixture(scope="session")
def user_api(base_url: str, credentials: dict) -> Api:
    """A user signed up and logged in once per run: sign-ups are throttled per client
    address (THROTTLE_REGISTER), and every request here comes from one."""
    response = requests.post(f"{base_url}/api/auth/register/", json=credentials, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return login(base_url, credentials)


@pytest.fixture(scope="session")
def staff_api(base_url: str) -> Api:
    username = env_or_skip("E2E_STAFF_USERNAME")
    password = env_or_skip("E2E_STAFF_PASSWORD")
    return login(base_url, {"username": username, "password": password})
