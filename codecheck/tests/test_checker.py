"""The flake8 checker process on real sample files, and its isolation and limits."""

import base64
import io
import json
import os
import signal
import threading

import pytest

from codecheck.runner import CheckerProcess, CheckOutcome, FindingOut, get_checker
from codecheck.tests.conftest import sample

ERRORS_FINDINGS = [
    FindingOut(1, 1, "F401", "'os' imported but unused"),
    FindingOut(2, 1, "E302", "expected 2 blank lines, found 0"),
    FindingOut(2, 7, "E201", "whitespace after '('"),
    FindingOut(2, 9, "E202", "whitespace before ')'"),
]
# ~840 KB of list items: about ten seconds of flake8, the slow-file trap.
SLOW_SOURCE = ("x = [\n" + "    1,\n" * 120000 + "]\n").encode()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("clean", CheckOutcome()),
        ("empty", CheckOutcome()),
        ("errors", CheckOutcome(findings=ERRORS_FINDINGS)),
        ("syntax_error", CheckOutcome(findings=[FindingOut(1, 8, "E999", "SyntaxError: invalid syntax")])),
        ("latin1", CheckOutcome()),
        ("undeclared_latin1", CheckOutcome()),
        ("long_line", CheckOutcome(findings=[FindingOut(1, 80, "E501", "line too long (106 > 79 characters)")])),
    ],
)
def test_checker_reports_findings_of_sample_files(checker, name, expected):
    outcome = checker.check(sample(name))

    assert outcome == expected
    assert outcome.passed is (not expected.findings)


def test_checker_records_rot13_crash_as_error_and_keeps_working(checker):
    outcome = checker.check(sample("rot13"))
    after = checker.check(sample("errors"))

    assert outcome.passed is False
    assert outcome.findings == []
    assert outcome.error.startswith("flake8 crashed: LookupError: 'rot13' is not a text encoding")
    assert after.findings == ERRORS_FINDINGS


def test_checker_reuses_one_process_for_many_files(checker):
    checker.check(sample("clean"))
    pid = checker.pid

    outcomes = [checker.check(sample("errors")) for _ in range(5)]

    assert checker.pid == pid
    assert all(o.findings == ERRORS_FINDINGS for o in outcomes)


def test_checker_ignores_config_and_plugins_where_it_is_started(tmp_path, monkeypatch):
    """A setup.cfg/.flake8 next to the worker cannot relax the rules or load a local plugin."""
    marker = tmp_path / "plugin-ran"
    (tmp_path / "evil.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    config = "[flake8]\nmax-line-length = 500\nextend-ignore = F401\n"
    config += "[flake8:local-plugins]\nextension =\n    X = evil:Plugin\npaths = .\n"
    for name in ("setup.cfg", "tox.ini", ".flake8"):
        (tmp_path / name).write_text(config)
    monkeypatch.chdir(tmp_path)
    process = CheckerProcess(time_limit=30, memory_bytes=512 * 2**20, flake8_args=["--max-line-length=79"])

    try:
        outcome = process.check(b"import os\nX = '" + b"a" * 90 + b"'\n")
    finally:
        process.close()

    assert [f.code for f in outcome.findings] == ["F401", "E501"]
    assert not marker.exists()


def test_checker_kills_a_file_over_the_time_limit_and_recovers():
    process = CheckerProcess(time_limit=1, memory_bytes=0, flake8_args=[])

    try:
        slow = process.check(SLOW_SOURCE)
        after = process.check(sample("errors"))
    finally:
        process.close()

    assert slow == CheckOutcome(error="flake8 exceeded the time limit of 1 s")
    assert after.findings == ERRORS_FINDINGS


def test_files_queued_behind_a_killed_one_are_checked_by_a_fresh_process():
    process = CheckerProcess(time_limit=1, memory_bytes=0, flake8_args=[])

    try:
        outcomes = list(process.check_many([SLOW_SOURCE, sample("errors"), sample("clean"), SLOW_SOURCE, b""]))
    finally:
        process.close()

    timeout = CheckOutcome(error="flake8 exceeded the time limit of 1 s")
    assert outcomes == [timeout, CheckOutcome(findings=ERRORS_FINDINGS), CheckOutcome(), timeout, CheckOutcome()]


def test_large_replies_and_large_queued_files_do_not_block_each_other(checker):
    noisy = b"x=1\n" * 3000  # 3 000 findings: a reply far larger than a pipe buffer
    big = b'X = "' + b"a" * 240_000 + b'"\n'  # a 320 KB request (base64) queued behind it

    outcomes = list(checker.check_many([noisy, big, noisy]))

    assert [len(o.findings) for o in outcomes] == [3000, 1, 3000]
    assert outcomes[0].findings[0] == FindingOut(1, 2, "E225", "missing whitespace around operator")


def test_checker_reports_a_file_over_the_memory_limit_and_restarts():
    process = CheckerProcess(time_limit=30, memory_bytes=60 * 2**20, flake8_args=[])

    try:
        process.check(b"")
        first_pid = process.pid
        heavy = process.check(SLOW_SOURCE)
        after = process.check(sample("errors"))
    finally:
        process.close()

    assert heavy == CheckOutcome(error="flake8 ran out of memory on this file")
    assert after.findings == ERRORS_FINDINGS
    assert process.pid != first_pid or process.pid is None


def test_checker_reports_a_killed_process_as_a_crash(checker):
    checker.check(b"")
    os.killpg(checker.pid, signal.SIGTERM)
    checker.process.wait(5)

    outcome = checker.check(sample("errors"))

    assert outcome.findings == ERRORS_FINDINGS  # a dead process is restarted before the next file


def test_checker_reports_a_crash_during_a_file_and_recovers():
    process = CheckerProcess(time_limit=30, memory_bytes=0, flake8_args=[])
    process.check(b"")
    # The interpreter dies mid-file, as a segfault in a C extension would end it.
    timer = threading.Timer(0.5, os.kill, (process.pid, signal.SIGSEGV))
    timer.start()

    try:
        crashed = process.check(SLOW_SOURCE)
        after = process.check(sample("errors"))
    finally:
        timer.cancel()
        process.close()

    assert crashed == CheckOutcome(error=f"flake8 crashed (exit status {-signal.SIGSEGV})")
    assert after.findings == ERRORS_FINDINGS


def test_checker_start_failure_is_reported():
    process = CheckerProcess(time_limit=30, memory_bytes=1 * 2**20, flake8_args=[], start_timeout=10)

    with pytest.raises(RuntimeError, match="did not start"):
        process.start()


def test_get_checker_is_one_per_thread():
    others: list = []
    thread = threading.Thread(target=lambda: others.append(get_checker()))
    thread.start()
    thread.join()

    assert get_checker() is get_checker()
    assert others[0] is not get_checker()


def test_serve_answers_each_request_in_order(tmp_path, monkeypatch):
    """The checker's loop run in this process: findings, a flake8 crash, then findings again."""
    from codecheck import checker as child

    monkeypatch.chdir(tmp_path)
    application = child._build_application(["--max-line-length=79"])
    requests = [
        json.dumps({"id": n, "data": base64.b64encode(sample(name)).decode()}) + "\n"
        for n, name in enumerate(["errors", "rot13", "clean"], start=1)
    ]
    protocol = io.StringIO()

    status = child.serve(application, requests, protocol, str(tmp_path), cpu_seconds=None)

    replies = [json.loads(line) for line in protocol.getvalue().splitlines()]
    assert status == 0
    assert replies[0] == {"id": 1, "findings": [[f.line, f.column, f.code, f.message] for f in ERRORS_FINDINGS]}
    assert replies[1]["id"] == 2
    assert replies[1]["error"].startswith("flake8 crashed: LookupError: 'rot13' is not a text encoding")
    assert replies[2] == {"id": 3, "findings": []}
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # every per-file folder was removed
