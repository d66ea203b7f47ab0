"""codecheck over HTTP: an uploaded .py is checked by the scheduled run (beat), the
findings equal flake8's own on the same file, and the report lands in the mail catcher."""

import email
import email.message
import email.policy
import subprocess
import sys
import uuid

import requests

from e2e.support import TIMEOUT, wait_until

SOURCE = b"import os\n\n\ndef f( x ):\n    return x+1\n"


def flake8_findings(tmp_path, name: str, source: bytes) -> list[dict]:
    """flake8 itself, run here on a file of the same name (the oracle)."""
    path = tmp_path / name
    path.write_bytes(source)
    completed = subprocess.run(  # noqa: S603  (our own interpreter and a file we wrote)
        [sys.executable, "-m", "flake8", "--isolated", "--format=%(row)d\t%(col)d\t%(code)s\t%(text)s", name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = [line.split("\t", 3) for line in completed.stdout.splitlines()]
    return [{"line": int(r[0]), "column": int(r[1]), "code": r[2], "message": r[3]} for r in rows]


def mail_to(mail_api_url: str, address: str) -> list[email.message.EmailMessage]:
    """Messages to ``address`` in the catcher: the stand-in's list carries the raw
    message; real Mailpit's is read from /api/v1/message/<ID>/raw."""
    listing = requests.get(f"{mail_api_url}/api/v1/messages", timeout=TIMEOUT).json()
    found: list[email.message.EmailMessage] = []
    for message in listing["messages"]:
        recipients = [to["Address"] if isinstance(to, dict) else to for to in message["To"]]
        if address not in recipients:
            continue
        raw = message.get("Raw")
        if raw is None:
            raw = requests.get(f"{mail_api_url}/api/v1/message/{message['ID']}/raw", timeout=TIMEOUT).text
        found.append(email.message_from_string(raw, policy=email.policy.default))
    return found


def test_uploaded_python_file_is_checked_and_the_report_emailed(user_api, credentials, mail_api_url, tmp_path):
    name = f"module_{uuid.uuid4().hex[:8]}.py"
    uploaded = user_api.post("/api/codecheck/files/", files={"file": (name, SOURCE)})
    assert uploaded.status_code == 201, uploaded.text
    file_id = uploaded.json()["id"]

    def checked():
        checks = user_api.get(f"/api/codecheck/files/{file_id}/checks/").json()["results"]
        return checks[0] if checks and checks[0]["email_sent"] else None

    check = wait_until(checked, timeout=150, interval=1, what="scheduled check with its report emailed")
    messages = wait_until(lambda: mail_to(mail_api_url, credentials["email"]), timeout=30, what="report mail")

    expected = flake8_findings(tmp_path, name, SOURCE)
    assert expected  # the sample has findings, so "passed" could not be a fluke
    assert check["passed"] is False
    assert check["version"] == 1
    assert [{k: f[k] for k in ("line", "column", "code", "message")} for f in check["findings"]] == expected
    assert user_api.get(f"/api/codecheck/files/{file_id}/").json()["status"] == "checked"
    assert len(messages) == 1
    assert messages[0]["Subject"] == f"[codecheck] {name} v1 failed"
    body = messages[0].get_body(preferencelist=("plain",)).get_content()
    for finding in expected:
        assert finding["code"] in body


def test_a_non_python_upload_is_refused(user_api):
    response = user_api.post("/api/codecheck/files/", files={"file": ("notes.txt", b"hello\n")})
    assert response.status_code == 400
