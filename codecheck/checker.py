"""A long-lived flake8 worker process: one JSON line in per file, one JSON line out.

Run as ``python -I codecheck/checker.py '<json config>'`` by ``codecheck.runner``;
it imports only the standard library and flake8 so it starts fast and nothing
from the project or the upload is on its path. Each file is written alone into a
fresh temporary directory and checked with ``--isolated`` (no setup.cfg, tox.ini
or .flake8 is read, so no config can name a plugin), under an address-space
limit and a per-file CPU limit (SIGXCPU ends the process; the parent restarts it).
"""

import base64
import json
import os
import resource
import shutil
import sys
import tempfile
import traceback
from collections.abc import Iterable
from typing import TextIO

UPLOAD_NAME = "upload.py"


def _apply_limits(memory_bytes: int) -> None:  # pragma: no cover - child only, see test_checker
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _limit_cpu_for_next_file(cpu_seconds: int) -> None:  # pragma: no cover - child only, see test_checker
    """RLIMIT_CPU counts the whole process life, so move the soft limit to now + budget."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + cpu_seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _build_application(flake8_args: list[str]):
    from flake8.formatting.base import BaseFormatter
    from flake8.main.application import Application
    from flake8.options.parse_args import parse_args

    class Collector(BaseFormatter):
        """Keeps violations in memory instead of printing them."""

        def after_init(self) -> None:
            self.violations: list = []

        def handle(self, error) -> None:
            self.violations.append(error)

    application = Application()
    # --isolated first: parse_args would otherwise read config files from the cwd.
    application.plugins, application.options = parse_args(["--isolated", "--jobs=1", *flake8_args])
    application.formatter = Collector(application.options)
    application.make_guide()
    application.make_file_checker_manager([])
    return application


def _check(application, data: bytes, workdir: str) -> dict:
    folder = tempfile.mkdtemp(dir=workdir)
    try:
        os.chdir(folder)
        with open(UPLOAD_NAME, "wb") as handle:
            handle.write(data)
        application.formatter.violations = []
        application.options.filenames = [UPLOAD_NAME]
        application.run_checks()
        application.report_errors()
        if application.catastrophic_failure:
            application.catastrophic_failure = False
            return {"error": "a flake8 plugin failed on this file"}
        findings = [[v.line_number, v.column_number, v.code, v.text] for v in application.formatter.violations]
        return {"findings": findings}
    finally:
        os.chdir(workdir)
        shutil.rmtree(folder, ignore_errors=True)


def serve(application, requests: Iterable[str], protocol: TextIO, workdir: str, cpu_seconds: int | None) -> int:
    """Answer each request line with one reply line; return the exit status."""
    for line in requests:
        request = json.loads(line)
        if cpu_seconds:  # pragma: no branch - always set in the child
            _limit_cpu_for_next_file(cpu_seconds)
        fatal = False
        try:
            reply = _check(application, base64.b64decode(request["data"]), workdir)
        except MemoryError:
            reply, fatal = {"error": "flake8 ran out of memory on this file", "fatal": True}, True
        except Exception as exc:  # flake8 itself crashed on this input
            last = traceback.extract_tb(exc.__traceback__)[-1]
            reply = {"error": f"flake8 crashed: {type(exc).__name__}: {exc} (in {last.name})"}
        reply["id"] = request["id"]
        protocol.write(json.dumps(reply) + "\n")
        protocol.flush()
        if fatal:
            return 3  # the heap may be in any state: the parent starts a fresh process
    return 0


def main() -> int:  # pragma: no cover - runs only as the child process, exercised by test_checker
    config = json.loads(sys.argv[1])
    _apply_limits(config["memory_bytes"])
    # The protocol owns the real stdout; anything flake8 or a plugin prints goes to stderr.
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    workdir = tempfile.mkdtemp(prefix="codecheck-")
    os.chdir(workdir)
    try:
        application = _build_application(config["flake8_args"])
        protocol.write(json.dumps({"ready": True}) + "\n")
        protocol.flush()
        return serve(application, sys.stdin, protocol, workdir, config["cpu_seconds"])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
