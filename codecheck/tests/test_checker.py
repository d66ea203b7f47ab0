"""The flake8 checker on real sample files, its isolation and limits, and its findings against flake8 itself."""

import os
import random
import signal
import subprocess
import sys
import sysconfig
import threading
from importlib.util import find_spec
from pathlib import Path

import pytest

from codecheck import checker as worker
from codecheck.runner import CheckerPool, CheckOutcome, FindingOut, SourceFile, get_checker
from codecheck.tests.conftest import sample, sources

ERRORS_FINDINGS = [
    FindingOut(1, 1, "F401", "'os' imported but unused"),
    FindingOut(2, 1, "E302", "expected 2 blank lines, found 0"),
    FindingOut(2, 7, "E201", "whitespace after '('"),
    FindingOut(2, 9, "E202", "whitespace before ')'"),
]
# ~840 KB of list items: about ten seconds of flake8, the slow-file trap.
SLOW_SOURCE = ("x = [\n" + "    1,\n" * 120000 + "]\n").encode()


def _lone_checker(*, time_limit: float = 30, memory_bytes: int = 0, flake8_args: list[str] | None = None):
    return CheckerPool(processes=1, time_limit=time_limit, memory_bytes=memory_bytes, flake8_args=flake8_args or [])


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
    pid = checker.check(sample("clean")).checker_pid

    outcomes = [checker.check(sample("errors")) for _ in range(5)]

    assert {o.checker_pid for o in outcomes} == {pid}
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
    pool = _lone_checker(memory_bytes=512 * 2**20, flake8_args=["--max-line-length=79"])

    try:
        outcome = pool.check(b"import os\nX = '" + b"a" * 90 + b"'\n")
    finally:
        pool.close()

    assert [f.code for f in outcome.findings] == ["F401", "E501"]
    assert not marker.exists()


def test_checker_runs_with_an_empty_environment_and_no_project_on_its_path(monkeypatch):
    monkeypatch.setenv("CODECHECK_SECRET_PROBE", "secret")
    monkeypatch.setenv("PYTHONPATH", os.getcwd())
    pool = _lone_checker()
    variables = ["CODECHECK_SECRET_PROBE", "PYTHONPATH", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "HOME", "PATH"]

    try:
        pool.check(b"")
        # Standard-library functions run in the worker the file was checked in (a pool of one).
        environ = [pool._pool.schedule(os.getenv, args=(name,)).result() for name in variables]
        project_modules = [pool._pool.schedule(find_spec, args=(name,)).result() for name in ("config", "accounts")]
    finally:
        pool.close()

    assert environ == [None, None, None, None, None, worker.CHILD_ENV["PATH"]]
    assert project_modules == [None, None]


def test_checker_applies_the_project_flake8_arguments():
    pool = _lone_checker(flake8_args=["--max-line-length=100", "--extend-ignore=F401"])

    try:
        outcome = pool.check(b"import os\nX = '" + b"a" * 90 + b"'\n")
    finally:
        pool.close()

    assert outcome == CheckOutcome()


def test_checker_kills_a_file_over_the_time_limit_and_recovers():
    pool = _lone_checker(time_limit=1)

    try:
        slow = pool.check(SLOW_SOURCE)
        after = pool.check(sample("errors"))
    finally:
        pool.close()

    assert slow == CheckOutcome(error="flake8 exceeded the time limit of 1 s")
    assert after.findings == ERRORS_FINDINGS


def test_files_queued_behind_a_killed_one_are_checked_by_a_fresh_process():
    pool = _lone_checker(time_limit=1)

    try:
        outcomes = list(pool.check_many(sources(SLOW_SOURCE, sample("errors"), sample("clean"), SLOW_SOURCE, b"")))
    finally:
        pool.close()

    timeout = CheckOutcome(error="flake8 exceeded the time limit of 1 s")
    assert outcomes == [timeout, CheckOutcome(findings=ERRORS_FINDINGS), CheckOutcome(), timeout, CheckOutcome()]


def test_large_replies_and_large_queued_files_do_not_block_each_other(checker):
    noisy = b"x=1\n" * 3000  # 3 000 findings: a reply far larger than a pipe buffer
    big = b'X = "' + b"a" * 240_000 + b'"\n'  # a 240 KB request queued behind it

    outcomes = list(checker.check_many(sources(noisy, big, noisy)))

    assert [len(o.findings) for o in outcomes] == [3000, 1, 3000]
    assert outcomes[0].findings[0] == FindingOut(1, 2, "E225", "missing whitespace around operator")


def test_checker_reports_a_file_over_the_memory_limit_and_recovers():
    pool = _lone_checker(memory_bytes=60 * 2**20)

    try:
        pool.check(b"")
        heavy = pool.check(SLOW_SOURCE)
        after = pool.check(sample("errors"))
    finally:
        pool.close()

    assert heavy == CheckOutcome(error="flake8 ran out of memory on this file")
    assert after.findings == ERRORS_FINDINGS


def test_checker_reports_a_killed_process_as_a_crash(checker):
    pid = checker.check(b"").checker_pid
    os.kill(pid, signal.SIGKILL)

    outcome = checker.check(sample("errors"))

    assert outcome.findings == ERRORS_FINDINGS  # a dead process is replaced before the next file
    assert outcome.checker_pid != pid


def test_checker_reports_a_crash_during_a_file_and_recovers():
    pool = _lone_checker()
    pid = pool.check(b"").checker_pid
    # The interpreter dies mid-file, as a segfault in a C extension would end it.
    timer = threading.Timer(0.5, os.kill, (pid, signal.SIGSEGV))
    timer.start()

    try:
        crashed = pool.check(SLOW_SOURCE)
        after = pool.check(sample("errors"))
    finally:
        timer.cancel()
        pool.close()

    assert crashed == CheckOutcome(error=f"flake8 crashed (exit status {-signal.SIGSEGV})")
    assert after.findings == ERRORS_FINDINGS
    assert after.checker_pid != pid


def test_checker_that_cannot_start_fails_the_file_with_a_reason():
    pool = _lone_checker(memory_bytes=1 * 2**20)

    try:
        outcomes = list(pool.check_many(sources(b"", b"")))
    finally:
        pool.close()

    assert [o.passed for o in outcomes] == [False, False]
    assert all(o.error.startswith("flake8 ") for o in outcomes)


def test_get_checker_is_one_per_thread():
    others: list = []
    thread = threading.Thread(target=lambda: others.append(get_checker()))
    thread.start()
    thread.join()

    assert get_checker() is get_checker()
    assert others[0] is not get_checker()


def test_check_file_in_this_process_leaves_no_folder_behind(tmp_path, monkeypatch):
    """The worker's function run here: findings, a flake8 crash, then findings again."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    config = worker.WorkerConfig(memory_bytes=0, cpu_seconds=0, flake8_args=("--max-line-length=79",))

    replies = [worker.check_file(name, sample(name), config) for name in ("errors", "rot13", "clean")]

    assert replies[0].findings == [(f.line, f.column, f.code, f.message) for f in ERRORS_FINDINGS]
    assert replies[1].error.startswith("flake8 crashed: LookupError: 'rot13' is not a text encoding")
    assert (replies[2].findings, replies[2].error) == ([], "")
    assert all(r.started <= r.finished and r.pid == os.getpid() for r in replies)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # every per-file folder was removed


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("module.py", "module.py"),
        ("__init__.py", "__init__.py"),
        ("модуль_данных.py", "модуль_данных.py"),
        ("Мой файл (2).py", "Мой_файл__2_.py"),
        ("../../etc/passwd.py", "passwd.py"),
        ("C:\\Users\\me\\script.PY", "script.PY"),
        ("..hidden.py", "hidden.py"),
        ("$(rm -rf).py", "__rm_-rf_.py"),
        (".py", "upload.py"),
        ("ж" * 300 + ".py", "ж" * 98 + ".py"),
    ],
)
def test_safe_name_keeps_the_base_name_in_safe_characters(name, expected):
    assert worker.safe_name(name) == expected


# --- Findings against flake8 itself ---------------------------------------------------------
# The oracle is the pinned flake8 run directly: `flake8 --isolated` on a file of the same name.

FLAKE8_FORMAT = "%(path)s\t%(row)d\t%(col)d\t%(code)s\t%(text)s"
NOQA_UNCLOSED = b"a = 1  # noqa\nb = 2  # noqa\nc = (  # noqa\n"
UNCLOSED = b"a = 1\nb = 2\nc = (\n"


def _flake8_directly(files: list[SourceFile], root: Path) -> list[list[FindingOut]]:
    """One ``flake8 --isolated`` subprocess over the files, each alone in a folder under its own name."""
    paths = []
    for number, source in enumerate(files):
        folder = root / f"{number:03d}"
        folder.mkdir()
        (folder / source.name).write_bytes(source.data)
        paths.append(f"{number:03d}/{source.name}")
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--max-line-length=79", f"--format={FLAKE8_FORMAT}", *paths],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    findings: dict[str, list[FindingOut]] = {path: [] for path in paths}
    for line in result.stdout.splitlines():
        path, row, col, code, text = line.split("\t", 4)
        findings[path].append(FindingOut(int(row), int(col), code, text))
    return [findings[path] for path in paths]


def _evenly(paths: list[Path], count: int) -> list[Path]:
    return paths[:: max(1, len(paths) // count)][:count]


def _real_files() -> list[Path]:
    """Real modules from the installed packages and the standard library: no hand-picking."""
    purelib, stdlib = Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["stdlib"])
    small = sorted(p for p in purelib.rglob("*.py") if 0 < p.stat().st_size <= 24_000)
    inits = [p for p in small if p.name == "__init__.py"]
    modules = [p for p in small if p.name != "__init__.py"]
    standard = sorted(p for p in stdlib.glob("*.py") if 0 < p.stat().st_size <= 24_000)
    return _evenly(modules, 70) + _evenly(inits, 15) + _evenly(standard, 15)


def _corpus() -> list[SourceFile]:
    """At least 100 real files, several named ``__init__.py``, and mutants that share names on purpose."""
    files = [SourceFile(path.name, path.read_bytes()) for path in _real_files()]
    lines = files[0].data.splitlines(keepends=True)
    noqa_everywhere = b"".join(line.rstrip(b"\r\n") + b"  # noqa\n" for line in lines) + b"c = (  # noqa\n"
    files += [
        SourceFile("models.py", noqa_everywhere),
        SourceFile("models.py", UNCLOSED),
        SourceFile("models.py", b"".join(lines[: len(lines) // 2]) + b"x = call(\n"),
        SourceFile("upload.py", NOQA_UNCLOSED),
        SourceFile("upload.py", UNCLOSED),
        SourceFile("__init__.py", files[75].data + b"def broken(:\n    pass\n"),
        SourceFile("__init__.py", b"import os\nprint(__path__)\n"),
        SourceFile("upload.py", b"import os\nprint(__path__)\n"),
        SourceFile("модуль_данных.py", "import os\nимя = 'значение'\nprint( имя )\n".encode()),
        SourceFile("errors.py", b"x = [1,\n     2  # noqa\ny = 3\n"),
    ]
    return files


def test_corpus_findings_equal_flake8_in_any_order_through_one_long_lived_checker(checker, tmp_path):
    corpus = _corpus()
    expected = _flake8_directly(corpus, tmp_path)
    mismatches: dict[int, list[str]] = {}

    for seed in (1, 2, 3):
        order = list(range(len(corpus)))
        random.Random(seed).shuffle(order)
        outcomes = checker.check_many([corpus[n] for n in order])
        for n, outcome in zip(order, outcomes, strict=True):
            if (outcome.findings, outcome.error) != (expected[n], ""):
                mismatches.setdefault(n, []).append(f"order {seed}: {corpus[n].name}: {outcome}")

    assert len(corpus) >= 100
    assert sum(source.name == "__init__.py" for source in corpus) >= 10
    assert sum(bool(findings) for findings in expected) >= 50  # the oracle does find things
    assert mismatches == {}


def test_a_file_after_one_with_noqa_lines_gets_its_own_syntax_error(checker, tmp_path):
    """A noqa on a line of an earlier file with the same name must not hide this file's E999."""
    expected = _flake8_directly([SourceFile("upload.py", UNCLOSED)], tmp_path)[0]

    outcomes = list(checker.check_many(sources(NOQA_UNCLOSED, UNCLOSED, NOQA_UNCLOSED, UNCLOSED, name="upload.py")))

    assert expected == [FindingOut(3, 6, "E999", "SyntaxError: '(' was never closed")]
    assert [o.findings for o in outcomes] == [[], expected, [], expected]


def test_a_file_is_checked_under_its_own_name(checker, tmp_path):
    """pyflakes defines ``__path__`` in an ``__init__.py`` only."""
    data = b"import os\nprint(__path__)\n"
    names = ["__init__.py", "upload.py", "__init__.py"]
    expected = _flake8_directly([SourceFile(name, data) for name in names], tmp_path)

    outcomes = [checker.check(data, name) for name in names]

    assert expected[0] == [FindingOut(1, 1, "F401", "'os' imported but unused")]
    assert expected[1] == [*expected[0], FindingOut(2, 7, "F821", "undefined name '__path__'")]
    assert [o.findings for o in outcomes] == expected
