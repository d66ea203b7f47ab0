"""flake8 inside a checker worker process: each call checks one file, under its own name, in a fresh folder.

The pool (``codecheck.runner``) starts these workers as fresh interpreters
(``spawn``); this module imports only the standard library and, on the first
file, flake8, so no project code or settings live in the process that reads
uploads. ``worker_init`` empties the environment and the import path as
``python -I`` would; the first file applies the address-space limit and builds
flake8's style guide through its public API with only flake8's own checkers
(pyflakes, pycodestyle) and mccabe.
"""

import linecache
import os
import re
import resource
import shutil
import sys
import tempfile
import time
import traceback
import unicodedata
from dataclasses import dataclass, field
from typing import Any

# The worker keeps a locale and PATH, nothing else (no secrets, no PYTHON* variables).
CHILD_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
# Distributions allowed to register flake8 plugins: flake8 itself (pyflakes, pycodestyle) and mccabe.
ALLOWED_PLUGIN_DISTRIBUTIONS = frozenset({"flake8", "mccabe"})
FALLBACK_NAME = "upload.py"
# File systems allow 255 bytes per name; a Cyrillic letter takes two.
MAX_NAME_BYTES = 200
_UNSAFE = re.compile(r"[^\w.-]")


@dataclass(frozen=True)
class WorkerConfig:
    memory_bytes: int
    cpu_seconds: int
    flake8_args: tuple[str, ...]


@dataclass
class Checked:
    """A worker's answer: findings as (line, column, code, message), or why flake8 could not check."""

    findings: list[tuple[int, int, str, str]] = field(default_factory=list)
    error: str = ""
    started: float = 0.0
    finished: float = 0.0
    pid: int = 0


def safe_name(name: str) -> str:
    """The base name of an upload with only letters (any script), digits, ``_``, ``.`` and ``-``.

    The name matters to flake8 (pyflakes treats ``__init__.py`` specially), so a
    file is checked under its own name; anything that could leave the check's
    folder or make a hidden file is replaced.
    """
    base = unicodedata.normalize("NFC", re.split(r"[\\/]", name)[-1])
    base = _UNSAFE.sub("_", base).lstrip(".")
    stem, suffix = os.path.splitext(base)
    while stem and len((stem + suffix).encode()) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + suffix if stem and suffix else FALLBACK_NAME


def worker_init() -> None:  # pragma: no cover - runs in the worker process, exercised through the pool
    """Pool initializer: an empty environment, only the interpreter's own import path, cwd ``/``.

    The import path keeps the standard library and the installed packages (where
    flake8 lives) and drops the project, the user site, ``PYTHONPATH`` and the
    current directory. In ``/`` flake8 finds no configuration file but a
    root-owned one, so no setup.cfg can name a local plugin.
    """
    os.environ.clear()
    os.environ.update(CHILD_ENV)
    prefixes = tuple({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p).startswith(prefixes)]
    os.chdir("/")


class _Guide:
    """flake8's style guide, built once per worker, and the violations of the file being checked."""

    def __init__(self, config: WorkerConfig):
        from flake8.api.legacy import get_style_guide
        from flake8.formatting.base import BaseFormatter

        _refuse_plugins()
        violations: list[tuple[int, int, str, str]] = []

        class Collector(BaseFormatter):
            """Keeps the violations in memory instead of printing them."""

            def handle(self, error: Any) -> None:
                violations.append((error.line_number, error.column_number, error.code, error.text))

        # The legacy API reads configuration before it applies ``isolated``; the worker's
        # cwd is ``/``, so nothing but a root-owned file could be read.
        self.style_guide = get_style_guide(isolated=True)
        _apply_args(self.style_guide.options, config.flake8_args)
        self.style_guide.init_report(Collector)  # rebuilds the decider from the options set above
        self.violations = violations

    def check(self, path: str) -> list[tuple[int, int, str, str]]:
        self.violations.clear()
        self.style_guide.check_files([path])
        return list(self.violations)


def _refuse_plugins() -> None:
    from importlib.metadata import entry_points

    others = {
        entry.dist.name if entry.dist else entry.value
        for group in ("flake8.extension", "flake8.report")
        for entry in entry_points(group=group)
    } - ALLOWED_PLUGIN_DISTRIBUTIONS
    if others:
        raise RuntimeError(f"flake8 plugins are installed and would run on uploads: {sorted(others)}")


def _apply_args(options: Any, args: tuple[str, ...]) -> None:
    """Set ``--name=value`` / ``--flag`` arguments on flake8's options, typed like the option's default."""
    for arg in args:
        key, has_value, value = arg.removeprefix("--").partition("=")
        attr = key.replace("-", "_")
        if not arg.startswith("--") or not hasattr(options, attr):
            raise ValueError(f"unknown flake8 option {arg!r}")
        current = getattr(options, attr)
        if not has_value:
            setattr(options, attr, True)
        elif isinstance(current, bool):
            setattr(options, attr, value.lower() in ("1", "true", "yes", "on"))
        elif isinstance(current, int):
            setattr(options, attr, int(value))
        elif isinstance(current, list | tuple) or current is None:
            setattr(options, attr, [part.strip() for part in value.split(",") if part.strip()])
        else:
            setattr(options, attr, value)


_state: dict[str, _Guide] = {}


def _guide_get(config: WorkerConfig) -> _Guide:
    guide = _state.get("guide")
    if guide is None:
        _apply_limits(config.memory_bytes)
        guide = _state["guide"] = _Guide(config)
    return guide


def _apply_limits(memory_bytes: int) -> None:  # pragma: no cover - worker only
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _limit_cpu_for_next_file(cpu_seconds: int) -> None:  # pragma: no cover - worker only
    """RLIMIT_CPU counts the whole process life, so move the soft limit to now + budget (SIGXCPU then)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + cpu_seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def check_file(name: str, data: bytes, config: WorkerConfig) -> Checked:
    """Check ``data`` as a file called ``name`` in a folder of its own, then remove the folder.

    Each check gets a new path, and the line cache flake8 and pyflakes read
    error lines through (keyed by file name, e.g. to find a ``# noqa``) is
    cleared after it, so nothing one file left behind can change another's
    findings.
    """
    started = time.time()
    if config.cpu_seconds:
        _limit_cpu_for_next_file(config.cpu_seconds)
    folder = ""
    try:
        guide = _guide_get(config)
        folder = tempfile.mkdtemp(prefix="codecheck-")
        path = os.path.join(folder, safe_name(name))
        with open(path, "wb") as handle:
            handle.write(data)
        checked = Checked(findings=guide.check(path))
    except MemoryError:
        checked = Checked(error="flake8 ran out of memory on this file")
    except Exception as exc:  # flake8 itself crashed on this input, or could not start
        where = traceback.extract_tb(exc.__traceback__)[-1].name if exc.__traceback__ else "?"
        checked = Checked(error=f"flake8 crashed: {type(exc).__name__}: {exc} (in {where})")
    finally:
        linecache.clearcache()
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    checked.started, checked.finished, checked.pid = started, time.time(), os.getpid()
    return checked
