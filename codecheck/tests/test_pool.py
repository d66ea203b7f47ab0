"""The pool of checker processes: parallel checks, results in order, a dead process replaced."""

import os
import signal
import threading
import time

import pytest
from django.utils import timezone

from codecheck.models import Check, CodeFile
from codecheck.runner import CheckerPool, CheckOutcome, FindingOut, get_checker, pool_from_settings
from codecheck.services import codecheck_run
from codecheck.tests.conftest import overlapping_runs, sample, sources
from codecheck.tests.factories import CodeFileFactory
from codecheck.tests.test_checker import ERRORS_FINDINGS, SLOW_SOURCE

# About a second of flake8 each: long enough for two of them to overlap visibly.
MEDIUM_SOURCE = ("x = [\n" + "    1,\n" * 15000 + "]\n").encode()
# A few tenths of a second: long enough to keep one process busy while the other takes the next file.
BRIEF_SOURCE = ("x = [\n" + "    1,\n" * 4000 + "]\n").encode()
# About three seconds.
SLOWISH_SOURCE = ("x = [\n" + "    1,\n" * 40000 + "]\n").encode()


def _unused_import(n: int) -> bytes:
    return f"import module_{n}\n".encode()


def _unused_import_outcome(n: int) -> CheckOutcome:
    return CheckOutcome(findings=[FindingOut(1, 1, "F401", f"'module_{n}' imported but unused")])


@pytest.fixture
def pool():
    pool = CheckerPool(processes=2, time_limit=30, memory_bytes=768 * 2**20, flake8_args=["--max-line-length=79"])
    yield pool
    pool.close()


def test_pool_maps_each_outcome_to_its_file(pool):
    # Each file takes a few tenths of a second, so both processes take some, whatever the load.
    files = sources(*[_unused_import(n) + BRIEF_SOURCE for n in range(12)])

    outcomes = list(pool.check_many(files))

    assert outcomes == [_unused_import_outcome(n) for n in range(12)]
    assert len({o.checker_pid for o in outcomes}) == 2


def test_pool_checks_files_at_the_same_time_in_separate_processes(pool):
    started = time.monotonic()
    first, second = pool.check_many(sources(MEDIUM_SOURCE, MEDIUM_SOURCE))
    elapsed = time.monotonic() - started

    assert first == second == CheckOutcome()
    assert None not in (first.started_at, second.started_at, first.finished_at, second.finished_at)
    # The two checks overlap in time: each began before the other ended.
    assert max(first.started_at, second.started_at) < min(first.finished_at, second.finished_at)
    assert (
        elapsed
        < (first.finished_at - first.started_at).total_seconds()
        + (second.finished_at - second.started_at).total_seconds()
    )
    assert first.checker_pid != second.checker_pid


def test_a_slow_file_holds_up_only_its_own_process(pool):
    """While one process works through a slow file the other checks everything else."""
    files = sources(MEDIUM_SOURCE, *[_unused_import(n) for n in range(10)])

    outcomes = list(pool.check_many(files))

    slow, quick = outcomes[0], outcomes[1:]
    assert quick == [_unused_import_outcome(n) for n in range(10)]
    assert slow.finished_at is not None
    assert sum(o.finished_at is not None and o.finished_at < slow.finished_at for o in quick) >= 8


def test_pool_replaces_a_process_killed_by_the_time_limit():
    pool = CheckerPool(processes=2, time_limit=1, memory_bytes=0, flake8_args=[])
    try:
        before = {o.checker_pid for o in pool.check_many(sources(BRIEF_SOURCE, BRIEF_SOURCE))}
        outcomes = list(pool.check_many(sources(SLOW_SOURCE, sample("errors"), sample("clean"), _unused_import(1))))
        again: list[CheckOutcome] = []
        for _ in range(10):  # the replacement starts in the background; until then the survivor takes both
            again = list(pool.check_many(sources(BRIEF_SOURCE, BRIEF_SOURCE)))
            if len({o.checker_pid for o in again}) == 2:
                break
        after = {o.checker_pid for o in again}
    finally:
        pool.close()

    assert outcomes == [
        CheckOutcome(error="flake8 exceeded the time limit of 1 s"),
        CheckOutcome(findings=ERRORS_FINDINGS),
        CheckOutcome(),
        _unused_import_outcome(1),
    ]
    assert again == [CheckOutcome()] * 2
    assert len(before) == len(after) == 2
    assert len(after - before) == 1  # the killed process was replaced by a fresh one, the other kept


def test_pool_reports_a_crash_mid_file_and_keeps_checking(pool):
    victims = [o.checker_pid for o in pool.check_many(sources(MEDIUM_SOURCE, MEDIUM_SOURCE))]

    def kill_all() -> None:  # as a segfault in a C extension would end them
        for pid in victims:
            os.kill(pid, signal.SIGSEGV)

    # At 0.5 s the slow file is mid-check; the other file is done or queued behind it.
    timer = threading.Timer(0.5, kill_all)
    timer.start()
    try:
        outcomes = list(pool.check_many(sources(SLOWISH_SOURCE, sample("errors"))))
        again = list(pool.check_many(sources(sample("errors"), sample("clean"))))
    finally:
        timer.cancel()

    assert outcomes == [
        CheckOutcome(error=f"flake8 crashed (exit status {-signal.SIGSEGV})"),
        CheckOutcome(findings=ERRORS_FINDINGS),
    ]
    assert again == [CheckOutcome(findings=ERRORS_FINDINGS), CheckOutcome()]
    assert len(set(victims)) == 2
    assert not set(victims) & {o.checker_pid for o in again}


def test_a_checker_that_cannot_start_fails_the_callers_instead_of_hanging():
    pool = CheckerPool(processes=2, time_limit=30, memory_bytes=1 * 2**20, flake8_args=[])
    try:
        outcomes = list(pool.check_many(sources(b"", b"", b"")))
        later = pool.check(b"")  # the pool is still there to answer
    finally:
        pool.close()

    assert [o.passed for o in [*outcomes, later]] == [False] * 4
    assert all(o.error.startswith("flake8 ") for o in [*outcomes, later])


def test_closing_a_pool_cancels_files_not_started_and_a_closed_pool_starts_again():
    pool = CheckerPool(processes=1, time_limit=30, memory_bytes=0, flake8_args=[])
    futures = [pool.submit(source) for source in sources(*[MEDIUM_SOURCE] * 6)]
    futures[0].result()

    pool.close()

    assert all(f.done() for f in futures)
    assert sum(f.cancelled() for f in futures) >= 4  # the one being checked finished
    assert pool.check(sample("errors")) == CheckOutcome(findings=ERRORS_FINDINGS)
    pool.close()


def test_pool_size_comes_from_the_setting(settings):
    settings.CODECHECK_CHECKER_PROCESSES = 3
    pools: list = []
    thread = threading.Thread(target=lambda: pools.append(get_checker()))  # a fresh thread: a fresh pool
    thread.start()
    thread.join()
    pool = pools[0]

    try:
        outcomes = list(pool.check_many(sources(*[MEDIUM_SOURCE] * 3)))
        pids = {o.checker_pid for o in outcomes}
    finally:
        pool.close()

    assert pool.size == 3
    assert outcomes == [CheckOutcome()] * 3
    assert len(pids) == 3
    assert pool_from_settings(processes=1).size == 1


def test_pool_size_defaults_to_the_cpus_this_process_may_use(monkeypatch):
    import importlib

    from config.settings import base

    monkeypatch.delenv("CODECHECK_CHECKER_PROCESSES", raising=False)
    try:
        default = importlib.reload(base).CODECHECK_CHECKER_PROCESSES
        monkeypatch.setenv("CODECHECK_CHECKER_PROCESSES", "5")
        configured = importlib.reload(base).CODECHECK_CHECKER_PROCESSES
    finally:
        monkeypatch.undo()
        importlib.reload(base)

    assert default == len(os.sched_getaffinity(0))
    assert configured == 5


def test_a_pool_of_zero_is_refused():
    with pytest.raises(ValueError, match="at least one process"):
        CheckerPool(processes=0, time_limit=30, memory_bytes=0, flake8_args=[])


# --- The check run on a pool -------------------------------------------------------------


@pytest.mark.django_db
def test_run_on_a_pool_records_each_file_with_its_own_findings(user, settings, pool):
    settings.CODECHECK_CLAIM_BATCH = 4
    files = [CodeFileFactory(owner=user, file__data=_unused_import(n)) for n in range(22)]
    before = timezone.now()

    recorded = codecheck_run(checker=pool)

    assert recorded == len(files)
    for n, code_file in enumerate(files):
        check = Check.objects.get(file=code_file)
        assert list(check.findings.values_list("code", "message")) == [("F401", f"'module_{n}' imported but unused")]
        assert before <= check.started_at <= check.finished_at <= timezone.now()
    assert set(CodeFile.objects.values_list("status", flat=True)) == {"checked"}
    assert not CodeFile.objects.filter(claimed_version__isnull=False).exists()


@pytest.mark.django_db
def test_run_on_a_pool_records_a_timed_out_file_as_a_failed_check(user, settings):
    settings.CODECHECK_MAX_UPLOAD_BYTES = len(SLOW_SOURCE)  # stored files are read up to the limit
    pool = CheckerPool(processes=2, time_limit=1, memory_bytes=0, flake8_args=[])
    slow = CodeFileFactory(owner=user, file__data=SLOW_SOURCE)
    others = [CodeFileFactory(owner=user, file__data=_unused_import(n)) for n in range(3)]
    try:
        recorded = codecheck_run(checker=pool)
    finally:
        pool.close()

    assert recorded == 4
    check = Check.objects.get(file=slow)
    assert (check.passed, check.findings_count, check.error) == (False, 0, "flake8 exceeded the time limit of 1 s")
    assert [Check.objects.get(file=f).findings_count for f in others] == [1, 1, 1]
    assert set(CodeFile.objects.values_list("status", flat=True)) == {"checked"}


@pytest.mark.django_db(transaction=True)
def test_overlapping_runs_on_pools_never_check_a_version_twice(user, postgres, settings):
    """Each run claims its next batch while its pool checks the current one; still no version twice."""
    settings.CODECHECK_CLAIM_BATCH = 3
    files = [CodeFileFactory(owner=user, file__data=_unused_import(n)) for n in range(40)]

    results, counts = overlapping_runs(lambda: pool_from_settings(processes=2))

    assert sum(results) == len(files)
    assert sorted(counts.values()) == [1] * len(files)
    for n, code_file in enumerate(files):
        assert list(Check.objects.get(file=code_file).findings.values_list("message", flat=True)) == [
            f"'module_{n}' imported but unused"
        ]
    assert set(CodeFile.objects.values_list("status", flat=True)) == {"checked"}
