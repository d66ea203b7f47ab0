"""Where `make run`'s email lands: the documented var/mail/, whatever the working directory."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BASE_DIR

SEND = """
import django
django.setup()
from django.core.mail import send_mail
send_mail("Check report", "passed", "noreply@example.com", ["user@example.com"])
"""


@pytest.mark.parametrize("email_url", [None, "filemail:///{tmp}/inbox"])
def test_file_email_lands_where_the_settings_say(tmp_path: Path, email_url):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "EMAIL_URL" and not k.startswith("DJANGO_")}
    env.update({"VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "config.settings.base"})
    env["PYTHONPATH"] = str(BASE_DIR)
    if email_url:
        env["EMAIL_URL"] = email_url.format(tmp=tmp_path)
    inbox = tmp_path / "inbox" if email_url else tmp_path / "var" / "mail"

    subprocess.run([sys.executable, "-c", SEND], cwd=elsewhere, env=env, check=True, timeout=60)

    messages = list(inbox.glob("*.log"))
    assert len(messages) == 1
    assert "Subject: Check report" in messages[0].read_text()
    assert list(elsewhere.rglob("*")) == []
