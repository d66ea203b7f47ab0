"""Instructions per request of the ordinary lists and of the bare DRF reference, counted by callgrind.

Needs valgrind, PostgreSQL (DATABASE_URL=postgres://...) and memcached (the
binary, or CACHE_URL=pymemcache://...). A count of instructions is the same from
run to run whatever else the machine is doing, where requests per second and
CPU time are not; it leaves out PostgreSQL's and memcached's own work and the
HTTP server (``list_ordinary.py`` measures those through HTTP).

Each list runs in a child process under ``valgrind --tool=callgrind
--toggle-collect=functools_reduce``: a throwaway database with the rows of
``list_ordinary.py``, the WSGI application called in-process with a JWT (the
whole middleware stack, DEBUG off, memcached), 5 warm-up requests, then
BENCH_REQUESTS (10) counted requests inside one ``functools.reduce`` call, the
only code callgrind counts. The reference (``_reference_drf_db_list.py``) runs
the same way in a child of its own. Printed: instructions per request, and the
reference's count over each list's (the share of the reference's rate a list
would reach where the server's CPU is the bottleneck and its cost is Python's).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dev .venv/bin/python bench/list_instructions.py
"""

import functools
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from list_profile import LISTS, REFERENCE_PATH, caller, production_profile_with_memcached

REQUESTS = int(os.environ.get("BENCH_REQUESTS", 10))
REFERENCE = "reference"


def counted(call) -> None:
    """5 warm-up calls, then REQUESTS calls inside ``functools.reduce`` (what callgrind counts)."""
    for _ in range(5):
        call()
    gc.collect()
    functools.reduce(lambda _, __: call(), range(REQUESTS + 1))


def child(name: str) -> None:
    """Run under callgrind: one list, or the reference, against the database the parent made."""
    if name == REFERENCE:
        import _reference_drf_db_list as reference

        counted(caller(reference.application, REFERENCE_PATH, {}))
        return
    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application

    headers = {"Authorization": f"Bearer {os.environ['BENCH_TOKEN']}"}
    counted(caller(get_wsgi_application(), LISTS[name], headers))


def instructions(name: str, env: dict) -> float:
    """Instructions per counted request of ``name``, from callgrind's totals."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--toggle-collect=functools_reduce",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--child",
                name,
            ],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        totals = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        if totals is None:
            sys.exit(f"{name}: no totals in callgrind's output")
        return int(totals.group(1)) / REQUESTS


def main() -> None:
    import django

    django.setup()
    from list_ordinary import lists_database

    with lists_database("bench_list_instructions") as (token, db_url):
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "REFERENCE_DATABASE_URL": db_url,
            "BENCH_TOKEN": token,
            "PYTHONWARNINGS": "ignore",
        }
        counts = {name: instructions(name, env) for name in [REFERENCE, *LISTS]}
    reference = counts[REFERENCE]
    results = [{"name": "reference_instructions_per_request", "value": round(reference), "unit": "instructions"}]
    print(f"reference: {reference / 1e6:.2f} M instructions per request")
    for name in LISTS:
        ratio = reference / counts[name]
        print(f"{name}: {counts[name] / 1e6:.2f} M instructions per request; reference/list {ratio:.2f}x")
        results.append(
            {"name": f"{name}_instructions_per_request", "value": round(counts[name]), "unit": "instructions"}
        )
        results.append({"name": f"{name}_reference_over_list", "value": round(ratio, 3), "unit": "ratio"})
    print(json.dumps({"name": "list_instructions", "results": results}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        if shutil.which("valgrind") is None:
            sys.exit("needs valgrind (apt-get install valgrind)")
        with production_profile_with_memcached():
            main()
