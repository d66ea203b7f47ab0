"""What changed since the previous check, and the check as SARIF (against the official schema and flake8)."""

import importlib
import importlib.metadata
import io
import json
import re
import subprocess
import sys
from http import HTTPStatus
from pathlib import Path

import jsonschema
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from codecheck.models import Check
from codecheck.review import findings_diff
from codecheck.services import code_file_upload, codecheck_run
from codecheck.tests.conftest import upload
from codecheck.tests.factories import CheckFactory, CodeFileFactory, FindingFactory

pytestmark = pytest.mark.django_db

SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())

V1 = b"import os\nimport sys\nx=1\n"
# os moves to line 2, sys is gone, ``x=1`` stays, a second E225 appears.
V2 = b'"""Doc."""\nimport os\nx=1\ny=2\n'


def _f(line, column, code, message):
    return {"line": line, "column": column, "code": code, "message": message}


def _flake8_isolated(tmp_path: Path, name: str, data: bytes) -> list[dict]:
    """flake8 run directly, as the independent oracle."""
    (tmp_path / name).write_bytes(data)
    out = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", name], cwd=tmp_path, capture_output=True, text=True, check=False
    ).stdout
    found = []
    for row in out.splitlines():
        match = re.fullmatch(r".*?:(\d+):(\d+): (\S+) (.*)", row)
        assert match, row
        line, column, code, message = match.groups()
        found.append(_f(int(line), int(column), code, message))
    return found


# --- findings_diff -----------------------------------------------------------------


def test_diff_matches_by_code_and_message_and_lets_the_line_move():
    previous = [_f(1, 1, "F401", "'os' imported but unused"), _f(2, 1, "F401", "'sys' imported but unused")]
    current = [_f(5, 1, "F401", "'os' imported but unused"), _f(6, 2, "E225", "missing whitespace around operator")]

    new, fixed = findings_diff(previous=previous, current=current)

    assert (new, fixed) == (
        [_f(6, 2, "E225", "missing whitespace around operator")],
        [_f(2, 1, "F401", "'sys' imported but unused")],
    )


@pytest.mark.parametrize(
    ("before", "after", "new_lines", "fixed_lines"),
    [
        ([3], [3, 7], [7], []),  # one where there was one more: one new
        ([3, 7], [4], [], [7]),  # two became one: one fixed, with its earlier line
        ([3, 7], [3, 7], [], []),
        ([], [], [], []),
    ],
)
def test_diff_counts_identical_findings_as_a_multiset(before, after, new_lines, fixed_lines):
    e225 = ("E225", "missing whitespace around operator")

    new, fixed = findings_diff(previous=[_f(n, 2, *e225) for n in before], current=[_f(n, 2, *e225) for n in after])

    assert ([f["line"] for f in new], [f["line"] for f in fixed]) == (new_lines, fixed_lines)


# --- Recorded with the check, shown in the API -----------------------------------------


def test_a_check_records_new_and_fixed_against_the_previous_version(user, auth_client, checker, tmp_path):
    code_file, _ = code_file_upload(owner=user, upload=upload("mod.py", V1))
    codecheck_run(checker=checker)
    code_file_upload(owner=user, upload=upload("mod.py", V2))
    codecheck_run(checker=checker)

    body = auth_client.get(reverse("codecheck-api:file-checks", args=[code_file.pk])).json()

    second, first = body["results"]
    assert (first["version"], first["new_findings"], first["fixed_findings"]) == (1, [], [])
    assert first["findings"] == _flake8_isolated(tmp_path, "mod.py", V1)
    assert second["findings"] == _flake8_isolated(tmp_path, "mod.py", V2)
    assert second["new_findings"] == [_f(4, 2, "E225", "missing whitespace around operator")]
    assert second["fixed_findings"] == [_f(2, 1, "F401", "'sys' imported but unused")]
    assert auth_client.get(reverse("codecheck-api:check-list")).json()["results"][0] == second


def test_a_check_that_failed_to_run_is_not_the_baseline(user, checker):
    code_file = CodeFileFactory(owner=user, name="mod.py", version=3)
    FindingFactory(
        check_log=CheckFactory(file=code_file, version=1), line=1, code="F401", message="'os' imported but unused"
    )
    CheckFactory(file=code_file, version=2, passed=False, error="flake8 timed out")
    code_file.file.save("mod.py", io.BytesIO(b"import os\nimport sys\n"), save=False)
    code_file.status = code_file.Status.UPDATED
    code_file.save()

    codecheck_run(checker=checker)

    check = Check.objects.get(file=code_file, version=3)
    assert (check.new_findings, check.fixed_findings) == ([_f(2, 1, "F401", "'sys' imported but unused")], [])


@pytest.mark.parametrize("url", ["codecheck-api:check-list", "codecheck-api:file-checks"])
def test_check_lists_take_the_same_queries_for_one_check_or_many(auth_client, user, url):
    code_file = CodeFileFactory(owner=user)
    args = [code_file.pk] if url.endswith("file-checks") else []
    FindingFactory(check_log=CheckFactory(file=code_file, version=1, new_findings=[_f(1, 1, "F401", "x")]))
    auth_client.get(reverse(url, args=args))  # the first request of a session loads its user's state
    with CaptureQueriesContext(connection) as one:
        auth_client.get(reverse(url, args=args))
    for version in range(2, 7):
        FindingFactory(check_log=CheckFactory(file=code_file, version=version, fixed_findings=[_f(1, 1, "F401", "x")]))

    with CaptureQueriesContext(connection) as six:
        body = auth_client.get(reverse(url, args=args)).json()

    assert (body["count"], len(six)) == (6, len(one))


# --- SARIF ---------------------------------------------------------------------------


def _sarif_url(check: Check) -> str:
    return reverse("codecheck-api:check-sarif", args=[check.pk])


@pytest.mark.parametrize("name", ["проверка модуля.py", "module.py"])
def test_sarif_is_valid_and_says_what_flake8_says(user, auth_client, checker, tmp_path, name):
    source = "import os\n\n\ndef функция():\n    return 1;\n".encode()
    code_file, _ = code_file_upload(owner=user, upload=upload(name, source))
    codecheck_run(checker=checker)
    check = Check.objects.get(file=code_file)

    response = auth_client.get(_sarif_url(check))

    assert (response.status_code, response["Content-Type"]) == (HTTPStatus.OK, "application/sarif+json")
    log = json.loads(response.content)
    jsonschema.Draft202012Validator(SARIF_SCHEMA).validate(log)
    (run,) = log["runs"]
    assert log["version"] == "2.1.0"
    assert (run["tool"]["driver"]["name"], run["tool"]["driver"]["version"]) == (
        "flake8",
        importlib.metadata.version("flake8"),
    )
    expected = _flake8_isolated(tmp_path, name, source)
    assert len(expected) >= 2
    assert [
        (
            r["ruleId"],
            r["level"],
            r["message"]["text"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"],
        )
        for r in run["results"]
    ] == [
        (
            f["code"],
            "error" if f["code"][0] == "F" else "warning",
            f["message"],
            name,
            {"startLine": f["line"], "startColumn": f["column"]},
        )
        for f in expected
    ]


def test_sarif_of_a_syntax_error_is_an_error_level_result(user, auth_client, checker):
    code_file, _ = code_file_upload(owner=user, upload=upload("broken.py", b"def f(:\n    pass\n"))
    codecheck_run(checker=checker)

    log = auth_client.get(_sarif_url(Check.objects.get(file=code_file))).json()

    jsonschema.Draft202012Validator(SARIF_SCHEMA).validate(log)
    assert [(r["ruleId"], r["level"]) for r in log["runs"][0]["results"]] == [("E999", "error")]


def test_sarif_of_a_clean_check_has_no_results(auth_client, user):
    check = CheckFactory(file=CodeFileFactory(owner=user, name="clean.py"))

    log = auth_client.get(_sarif_url(check)).json()

    jsonschema.Draft202012Validator(SARIF_SCHEMA).validate(log)
    assert log["runs"][0]["results"] == []


def test_sarif_of_another_users_check_is_404_and_staff_may_read_it(auth_client, staff_client, other_user):
    check = CheckFactory(file=CodeFileFactory(owner=other_user))

    mine, staff = auth_client.get(_sarif_url(check)), staff_client.get(_sarif_url(check))

    assert (mine.status_code, mine["Content-Type"]) == (HTTPStatus.NOT_FOUND, "application/json")
    assert "detail" in mine.json()
    assert staff.status_code == HTTPStatus.OK


def test_sarif_of_a_deleted_files_check_stays_readable(auth_client, user):
    check = CheckFactory(file=CodeFileFactory(owner=user, deleted_at=timezone.now()))

    assert auth_client.get(_sarif_url(check)).status_code == HTTPStatus.OK


@pytest.mark.parametrize("pk", [0, 2**63])
def test_sarif_of_an_unknown_or_huge_id_is_404(auth_client, pk):
    assert auth_client.get(f"/api/codecheck/checks/{pk}/sarif/").status_code == HTTPStatus.NOT_FOUND


def test_sarif_needs_a_login(api_client, user):
    check = CheckFactory(file=CodeFileFactory(owner=user))

    assert api_client.get(_sarif_url(check)).status_code == HTTPStatus.UNAUTHORIZED


def test_the_file_page_marks_new_and_fixed(client, user):
    code_file = CodeFileFactory(owner=user)
    CheckFactory(
        file=code_file,
        new_findings=[_f(4, 2, "E225", "m")],
        fixed_findings=[_f(2, 1, "F401", "a"), _f(3, 1, "F401", "b")],
    )
    client.force_login(user)

    page = client.get(reverse("codecheck:file-detail", args=[code_file.pk])).content.decode()

    assert re.search(
        r'data-testid="change">since the previous check: <span[^>]*>1 new</span>, <span[^>]*>2 fixed</span>', page
    )


def test_the_migration_fills_in_existing_checks(user):
    from django.apps import apps

    backfill = importlib.import_module("codecheck.migrations.0002_check_findings_change").backfill
    code_file = CodeFileFactory(owner=user)
    first, failed, third = (CheckFactory(file=code_file, version=v) for v in (1, 2, 3))
    failed.error = "flake8 timed out"
    failed.save()
    FindingFactory(check_log=first, line=1, code="F401", message="'os' imported but unused")
    FindingFactory(check_log=first, line=2, code="F401", message="'sys' imported but unused")
    FindingFactory(check_log=third, line=5, code="F401", message="'os' imported but unused")
    FindingFactory(check_log=third, line=6, code="E225", message="missing whitespace around operator")

    backfill(apps, None)

    changes = [(c.new_findings, c.fixed_findings) for c in Check.objects.order_by("version")]
    assert changes == [
        ([], []),
        ([], []),
        ([_f(6, 1, "E225", "missing whitespace around operator")], [_f(2, 1, "F401", "'sys' imported but unused")]),
    ]


def test_sarif_as_plain_json_when_only_that_is_acceptable(auth_client, user):
    check = CheckFactory(file=CodeFileFactory(owner=user))

    response = auth_client.get(_sarif_url(check), HTTP_ACCEPT="application/json")

    assert (response.status_code, response["Content-Type"]) == (HTTPStatus.OK, "application/json")
    jsonschema.Draft202012Validator(SARIF_SCHEMA).validate(response.json())
