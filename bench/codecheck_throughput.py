"""codecheck throughput: files checked per second by one worker, against one flake8 subprocess per file.

Needs: nothing by default (SQLite in a temporary folder). Set DATABASE_URL to run
the full path against PostgreSQL (rows it creates are deleted afterwards).
Publishing report emails goes to an in-memory broker, so no Redis is needed.

Measured in one run, on the same 200 real-world .py files (a deterministic
even spread over every non-empty module of the installed site-packages under
the 256 KB upload limit):
  1. baseline: ``flake8 --isolated FILE`` as a fresh subprocess per file;
  2. reference: flake8's in-process API with no isolation (the ceiling);
  3. checker: the project's long-lived, resource-limited checker process;
  4. full path: ``codecheck_run`` (claim with row locks, check, record findings),
     the figure the >= 5x target is about.
Usage: .venv/bin/python bench/codecheck_throughput.py [--files 200]
"""

import argparse
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def select_files(count: int, max_bytes: int) -> list[Path]:
    root = Path(sysconfig.get_paths()["purelib"])
    # Every non-empty module under the upload limit, sampled evenly by path: no hand-picking.
    candidates = sorted(p for p in root.rglob("*.py") if p.is_file() and 0 < p.stat().st_size <= max_bytes)
    step = max(1, len(candidates) // count)
    return candidates[::step][:count]


def bench_subprocess(files: list[Path]) -> float:
    flake8 = [sys.executable, "-m", "flake8", "--isolated"]
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        for path in files:
            target = Path(folder) / "upload.py"
            target.write_bytes(path.read_bytes())
            result = subprocess.run([*flake8, "upload.py"], cwd=folder, capture_output=True, check=False)
            if result.returncode not in (0, 1):
                raise RuntimeError(result.stderr.decode()[-500:])
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


def bench_checker(files: list[Path]) -> tuple[float, int]:
    from codecheck.runner import checker_from_settings

    checker = checker_from_settings()
    findings = 0
    start = time.perf_counter()
    for path in files:
        findings += len(checker.check(path.read_bytes()).findings)
    elapsed = time.perf_counter() - start
    checker.close()
    return elapsed, findings


def bench_full_path(files: list[Path]) -> tuple[float, int]:
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from accounts.models import User
    from codecheck.models import CodeFile
    from codecheck.services import codecheck_run

    user = User.objects.create(username="bench-codecheck", email="bench-codecheck@example.com")
    try:
        for index, path in enumerate(files):
            code_file = CodeFile(owner=user, name=f"{index:03d}_{path.name}", uploaded_at=timezone.now())
            code_file.file.save(code_file.name, ContentFile(path.read_bytes()), save=False)
            code_file.size = code_file.file.size
            code_file.save()
        start = time.perf_counter()
        recorded = codecheck_run(budget_seconds=3600)
        return time.perf_counter() - start, recorded
    finally:
        user.delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="bench-codecheck-")
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
    files = select_files(args.files, settings.CODECHECK_MAX_UPLOAD_BYTES)
    total_kb = sum(p.stat().st_size for p in files) / 1024
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    median_kb = sorted(p.stat().st_size for p in files)[len(files) // 2] / 1024
    print(f"{len(files)} files, {total_kb:.0f} KB (median {median_kb:.1f} KB), database {engine}")

    baseline = bench_subprocess(files)
    reference = bench_inprocess_reference(files)
    checker, findings = bench_checker(files)
    full, recorded = bench_full_path(files)
    if recorded != len(files):
        raise RuntimeError(f"the full path recorded {recorded} checks for {len(files)} files")

    rates = {
        name: len(files) / seconds
        for name, seconds in [("baseline", baseline), ("reference", reference), ("checker", checker), ("full", full)]
    }
    per_file = {name: 1000 / rate for name, rate in rates.items()}
    print(f"subprocess per file : {rates['baseline']:7.1f} files/s ({per_file['baseline']:.1f} ms/file)")
    print(
        f"checker process     : {rates['checker']:7.1f} files/s ({per_file['checker']:.1f} ms/file) {findings} findings"
    )
    print(
        f"in-process, no isol.: {rates['reference']:7.1f} files/s ({per_file['reference']:.1f} ms/file) reference only"
    )
    print(f"full check path     : {rates['full']:7.1f} files/s ({per_file['full']:.1f} ms/file) incl. claim + record")
    print(f"speed-up, full path over subprocess: {rates['full'] / rates['baseline']:.1f}x (target >= 5x)")
    print(
        json.dumps(
            {
                "name": "codecheck_throughput",
                "results": [
                    {"name": "subprocess_per_file", "value": round(rates["baseline"], 1), "unit": "files/s"},
                    {
                        "name": "inprocess_unisolated_reference",
                        "value": round(rates["reference"], 1),
                        "unit": "files/s",
                    },
                    {"name": "checker_process", "value": round(rates["checker"], 1), "unit": "files/s"},
                    {"name": "full_check_path", "value": round(rates["full"], 1), "unit": "files/s"},
                    {
                        "name": "speedup_full_vs_subprocess",
                        "value": round(rates["full"] / rates["baseline"], 2),
                        "unit": "x",
                    },
                    {
                        "name": "speedup_checker_vs_subprocess",
                        "value": round(rates["checker"] / rates["baseline"], 2),
                        "unit": "x",
                    },
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
