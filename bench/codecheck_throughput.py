"""codecheck throughput: files checked per second by one worker, against one flake8 subprocess per file.

Needs: nothing by default (SQLite in a temporary folder). Set DATABASE_URL to run
the full path against PostgreSQL (rows it creates are deleted afterwards).
Publishing report emails goes to an in-memory broker, so no Redis is needed.

Measured in one run, on the same 200 real-world .py files (a deterministic
even spread over every non-empty module of the installed site-packages under
the 256 KB upload limit), with N = CODECHECK_CHECKER_PROCESSES (default: CPUs):
  1. baseline: ``flake8 --isolated FILE`` as a fresh subprocess per file, one
     after another (the issue's baseline), and N such subprocesses at once;
  2. reference: flake8's in-process API with no isolation, one process;
  3. checker: one long-lived, resource-limited checker process, and a pool of N;
  4. full path: ``codecheck_run`` (claim with row locks, check, record findings)
     with a pool of 1 and of N. The >= 5x target is the full path with the pool
     over the sequential baseline; the ratio at equal parallelism is printed too.
Usage: .venv/bin/python bench/codecheck_throughput.py [--files 200] [--processes N]
"""

import argparse
import atexit
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def select_files(count: int, max_bytes: int) -> list[Path]:
    root = Path(sysconfig.get_paths()["purelib"])
    # Every non-empty module under the upload limit, sampled evenly by path: no hand-picking.
    candidates = sorted(p for p in root.rglob("*.py") if p.is_file() and 0 < p.stat().st_size <= max_bytes)
    step = max(1, len(candidates) // count)
    return candidates[::step][:count]


def bench_subprocess(files: list[Path], parallel: int = 1) -> float:
    """One fresh ``flake8 --isolated`` per file, under its own name in its own folder; ``parallel`` at once."""
    flake8 = [sys.executable, "-m", "flake8", "--isolated"]

    def check(path: Path) -> None:
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / path.name).write_bytes(path.read_bytes())
            result = subprocess.run([*flake8, path.name], cwd=folder, capture_output=True, check=False)
            if result.returncode not in (0, 1):
                raise RuntimeError(result.stderr.decode()[-500:])

    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as executor:
        list(executor.map(check, files))
    return time.perf_counter() - start


def bench_inprocess_reference(files: list[Path]) -> float:
    """flake8's in-process API with no isolation at all: the ceiling for any in-process design."""
    import logging

    from flake8.api.legacy import get_style_guide

    logging.getLogger("flake8").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path.cwd()
        os.chdir(folder)
        try:
            guide = get_style_guide(isolated=True, quiet=2)
            start = time.perf_counter()
            for path in files:
                guide.check_files([str(path)])
            return time.perf_counter() - start
        finally:
            os.chdir(cwd)


def bench_checker(files: list[Path], processes: int) -> tuple[float, int]:
    """The checker pool alone (of one process, or of N) fed all files at once."""
    from codecheck.runner import SourceFile, pool_from_settings

    checker = pool_from_settings(processes)
    list(checker.check_many([SourceFile("warm.py", b"")] * processes))  # started, as after a worker's first run
    sources = [SourceFile(path.name, path.read_bytes()) for path in files]
    start = time.perf_counter()
    findings = sum(len(outcome.findings) for outcome in checker.check_many(sources))
    elapsed = time.perf_counter() - start
    checker.close()
    return elapsed, findings


def bench_full_path(files: list[Path], processes: int) -> tuple[float, int]:
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from accounts.models import User
    from codecheck.models import CodeFile
    from codecheck.runner import SourceFile, pool_from_settings
    from codecheck.services import codecheck_run

    user = User.objects.create(username="bench-codecheck", email="bench-codecheck@example.com")
    pool = pool_from_settings(processes)
    try:
        list(pool.check_many([SourceFile("warm.py", b"")] * processes))  # started, as after a worker's first run
        for index, path in enumerate(files):
            code_file = CodeFile(owner=user, name=f"{index:03d}_{path.name}", uploaded_at=timezone.now())
            code_file.file.save(code_file.name, ContentFile(path.read_bytes()), save=False)
            code_file.size = code_file.file.size
            code_file.save()
        start = time.perf_counter()
        recorded = codecheck_run(checker=pool, budget_seconds=3600)
        return time.perf_counter() - start, recorded
    finally:
        pool.close()
        user.delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--processes", type=int, default=0, help="checker processes (default: the setting)")
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="bench-codecheck-")
    atexit.register(shutil.rmtree, var_dir, ignore_errors=True)  # the media written for the full path
    os.environ.setdefault("VAR_DIR", var_dir)
    os.environ["DJANGO_MEDIA_ROOT"] = str(Path(var_dir) / "media")
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("CACHE_URL", "locmemcache://")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    processes = args.processes or settings.CODECHECK_CHECKER_PROCESSES
    files = select_files(args.files, settings.CODECHECK_MAX_UPLOAD_BYTES)
    total_kb = sum(p.stat().st_size for p in files) / 1024
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    median_kb = sorted(p.stat().st_size for p in files)[len(files) // 2] / 1024
    print(
        f"{len(files)} files, {total_kb:.0f} KB (median {median_kb:.1f} KB), database {engine}, "
        f"{processes} checker processes, {os.cpu_count()} CPUs"
    )

    seconds = {
        "subprocess_sequential": bench_subprocess(files),
        "subprocess_parallel": bench_subprocess(files, parallel=processes),
        "inprocess_unisolated_reference": bench_inprocess_reference(files),
    }
    seconds["checker_process"], findings = bench_checker(files, 1)
    seconds["checker_pool"], pool_findings = bench_checker(files, processes)
    if pool_findings != findings:
        raise RuntimeError(f"the pool found {pool_findings} findings, one process {findings}")
    for name, size in [("full_path_one_checker", 1), ("full_path_pool", processes)]:
        seconds[name], recorded = bench_full_path(files, size)
        if recorded != len(files):
            raise RuntimeError(f"the full path recorded {recorded} checks for {len(files)} files")

    rates = {name: len(files) / value for name, value in seconds.items()}
    labels = {
        "subprocess_sequential": "subprocess per file, one at a time (baseline)",
        "subprocess_parallel": f"subprocess per file, {processes} at once",
        "inprocess_unisolated_reference": "in-process, no isolation, 1 process (reference)",
        "checker_process": "checker process alone, 1",
        "checker_pool": f"checker pool alone, {processes}",
        "full_path_one_checker": "full path, 1 checker (claim + check + record)",
        "full_path_pool": f"full path, pool of {processes} (claim + check + record)",
    }
    for name, rate in rates.items():
        print(f"{labels[name]:<52}: {rate:6.1f} files/s ({1000 / rate:6.1f} ms/file)")
    print(f"findings: {findings} (the same from one checker and from the pool)")
    ratios = {
        "speedup_full_pool_vs_subprocess": rates["full_path_pool"] / rates["subprocess_sequential"],
        "speedup_full_one_checker_vs_subprocess": rates["full_path_one_checker"] / rates["subprocess_sequential"],
        "speedup_full_pool_vs_parallel_subprocess": rates["full_path_pool"] / rates["subprocess_parallel"],
    }
    print(
        f"target ratio, full path with the pool over one subprocess per file one after another: "
        f"{ratios['speedup_full_pool_vs_subprocess']:.1f}x (target >= 5x)"
    )
    print(f"full path with 1 checker over the same baseline: {ratios['speedup_full_one_checker_vs_subprocess']:.1f}x")
    print(
        f"at equal parallelism, pool of {processes} over {processes} subprocesses at once: "
        f"{ratios['speedup_full_pool_vs_parallel_subprocess']:.1f}x"
    )
    results = [{"name": name, "value": round(rate, 1), "unit": "files/s"} for name, rate in rates.items()]
    results += [{"name": name, "value": round(ratio, 2), "unit": "x"} for name, ratio in ratios.items()]
    results.append({"name": "checker_processes", "value": processes, "unit": "processes"})
    print(json.dumps({"name": "codecheck_throughput", "results": results}))


if __name__ == "__main__":
    main()
