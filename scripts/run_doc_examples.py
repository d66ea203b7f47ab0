"""Runs the shell examples of README.md and docs/*.md against a running stack, so a
doc that has gone stale fails.

    .venv/bin/python scripts/run_doc_examples.py --base http://127.0.0.1:8000 [FILE ...]

Which blocks run:

- Every fenced block whose info string is ``sh`` or ``bash`` runs, in the order of
  its file, all blocks of one file in one ``bash`` process (``set -euo pipefail``),
  so a variable set in one block (a token, an id) is there in the next. Each file
  starts in a fresh shell, so every file logs in for itself.
- A block right below the line ``<!-- not run: <reason> -->`` is not run: the ones
  that start the stack itself (``make run``, ``docker compose up``), benchmarks,
  the test suite. The reason is required.
- A fence must say what it holds (``sh``, ``text``, ``json``, ``python``, ...): an
  unlabelled fence is an error, so a shell example cannot hide from the runner.
- ``curl`` in a shell block must fail on an HTTP error (``-f``/``--fail``) and, when
  silent, still show errors (``-sS``, never ``-s`` alone).
- A block labelled ``json output`` (or ``text output``) right below a block that runs
  is what that block prints: the runner compares them (as JSON values, or line by
  line), so an answer shown in a doc cannot go stale either.

The blocks see ``BASE`` and ``BASE_URL`` set to ``--base`` (examples write
``BASE=${BASE:-http://127.0.0.1:8000}``, so a reader gets the default and the runner
its stack). They run in a scratch directory holding links to the repository's
top-level entries, so ``samples/photo.png`` and ``.venv/bin/python manage.py``
work as in a checkout, and files the examples save (``curl -OJ``) land there.
A file fails on the first command that exits non-zero; its output is printed.
"""

import argparse
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_LANGUAGES = {"sh", "bash"}
FENCE = re.compile(r"^(?P<fence>```+)\s*(?P<info>[^`]*)$")
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(?P<reason>\S.*?)\s*-->$")
DEFAULT_BASE = "http://127.0.0.1:8000"
_STDOUT_MARK = "@@doc-examples block "


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    text: str
    not_run: str  # the reason, or "" for a block that runs
    output: bool = False  # a ``<language> output`` block: what the block above prints

    @property
    def where(self) -> str:
        return f"{_relative(self.path)}:{self.line}"


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(BASE_DIR))
    except ValueError:
        return str(path)


def doc_files() -> list[Path]:
    return [BASE_DIR / "README.md", *sorted((BASE_DIR / "docs").glob("*.md"))]


def extract(path: Path) -> tuple[list[Block], list[str]]:
    """The fenced blocks of a Markdown file, and the problems found in its fences."""
    blocks: list[Block] = []
    problems: list[str] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        start, fence = index, match["fence"]
        language = match["info"].split()[0].lower() if match["info"].strip() else ""
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip() != fence:
            body.append(lines[index])
            index += 1
        if index == len(lines):
            problems.append(f"{_relative(path)}:{start + 1}: fence never closed")
        index += 1
        if not language:
            problems.append(f"{_relative(path)}:{start + 1}: fence without a language (sh, text, json, ...)")
            continue
        above = next((lines[i].strip() for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        marker = NOT_RUN.match(above)
        output = match["info"].split()[1:2] == ["output"]
        block = Block(path, start + 1, language, "\n".join(body) + "\n", marker["reason"] if marker else "", output)
        if language in RUN_LANGUAGES:
            problems.extend(_curl_problems(block))
        if output and not (blocks and _runs(blocks[-1])):
            problems.append(f"{block.where}: an output block must follow a block that runs")
        blocks.append(block)
    return blocks, problems


def _runs(block: Block) -> bool:
    return block.language in RUN_LANGUAGES and not block.not_run


def _curl_problems(block: Block) -> list[str]:
    """A ``curl`` that would hide an HTTP error or a failure."""
    problems = []
    commands: list[tuple[int, str]] = []  # (doc line, command with its continuation lines)
    for number, line in enumerate(block.text.splitlines(), start=block.line + 1):
        if commands and commands[-1][1].endswith("\\"):
            commands[-1] = (commands[-1][0], commands[-1][1][:-1] + " " + line)
        else:
            commands.append((number, line))
    for number, command in commands:
        where = f"{_relative(block.path)}:{number}"
        for match in re.finditer(r"(?:^|[\s;|&(`$])curl\s+(?P<args>[^|;&)`]*)", command):
            options = [arg for arg in match["args"].split() if arg.startswith("-")]
            short = "".join(arg[1:] for arg in options if not arg.startswith("--"))
            fails = "f" in short or any(arg.startswith("--fail") for arg in options)
            silent_blind = ("s" in short or "--silent" in options) and not ("S" in short or "--show-error" in options)
            if not fails:
                problems.append(f"{where}: curl without -f hides an HTTP error")
            if silent_blind:
                problems.append(f"{where}: curl -s without -S hides a failure")
    return problems


def script_for(blocks: list[Block]) -> tuple[str, dict[int, str]]:
    """One bash script running the blocks in order, and its line -> doc location map."""
    lines = [
        "set -euo pipefail",
        "trap 'echo \"doc-examples: failed at script line $LINENO\" >&2' ERR",
    ]
    where: dict[int, str] = {}
    for block in blocks:
        lines.append(f"echo '== {block.where}' >&2; echo '{_STDOUT_MARK}{block.where}'")
        for offset, line in enumerate(block.text.splitlines(), start=1):
            lines.append(line)
            where[len(lines)] = f"{_relative(block.path)}:{block.line + offset}"
    return "\n".join(lines) + "\n", where


def scratch_directory() -> Path:
    """A directory that looks like a checkout (links to its top-level entries)."""
    work = Path(tempfile.mkdtemp(prefix="doc-examples-"))
    for entry in BASE_DIR.iterdir():
        if entry.name not in {".git", "var", "tmp"}:
            (work / entry.name).symlink_to(entry)
    return work


@dataclass
class Outcome:
    path: Path
    ran: int
    skipped: int
    returncode: int
    output: str


def run_file(path: Path, *, base: str, timeout: float, env: dict[str, str] | None = None) -> Outcome:
    blocks, _problems = extract(path)
    runnable = [b for b in blocks if _runs(b)]
    expected = {above.where: b for above, b in itertools.pairwise(blocks) if b.output}
    skipped = sum(1 for b in blocks if b.language in RUN_LANGUAGES and b.not_run)
    if not runnable:
        return Outcome(path, 0, skipped, 0, "")
    script, where = script_for(runnable)
    work = scratch_directory()
    environment = {**(env if env is not None else os.environ), "BASE": base, "BASE_URL": base}
    try:
        completed = subprocess.run(  # noqa: S603  (bash with the doc's own examples)
            ["bash", "-c", script, _relative(path)],  # noqa: S607
            cwd=work,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = f"{completed.stderr}\n-- stdout:\n{completed.stdout}"
        returncode = completed.returncode
        if returncode == 0:
            mismatches = _output_mismatches(completed.stdout, expected)
            output += "".join(f"\ndoc-examples: {m}" for m in mismatches)
            returncode = 1 if mismatches else 0
    except subprocess.TimeoutExpired as exc:
        output = f"{exc.stderr!s}\n-- stdout:\n{exc.stdout!s}\ndoc-examples: timed out after {timeout:.0f} s"
        returncode = 124
    finally:
        shutil.rmtree(work, ignore_errors=True)
    failed_at = re.search(r"doc-examples: failed at script line (\d+)", output)
    if failed_at and int(failed_at[1]) in where:
        output += f"\ndoc-examples: the failing command is at {where[int(failed_at[1])]}"
    return Outcome(path, len(runnable), skipped, returncode, output)


def _output_mismatches(stdout: str, expected: dict[str, Block]) -> list[str]:
    """Where a block printed something other than the output block below it shows."""
    printed = {}
    for part in stdout.split(_STDOUT_MARK)[1:]:
        where, _newline, text = part.partition("\n")
        printed[where] = text
    mismatches = []
    for where, shown in expected.items():
        actual = printed.get(where, "")
        if shown.language == "json":
            try:
                same = json.loads(actual) == json.loads(shown.text)
            except ValueError as exc:
                same, actual = False, f"{actual} ({exc})"
        else:
            same = actual.strip().splitlines() == shown.text.strip().splitlines()
        if not same:
            mismatches.append(f"{where} printed\n{actual.strip()}\nbut {shown.where} shows\n{shown.text.strip()}")
    return mismatches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="Markdown files (default: README.md, docs/*.md)")
    parser.add_argument("--base", default=os.environ.get("BASE_URL") or DEFAULT_BASE, help="the stack's URL")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per file")
    parser.add_argument("--check", action="store_true", help="only check the fences and curl options")
    parser.add_argument("--verbose", action="store_true", help="print every file's output, not only a failure's")
    args = parser.parse_args(argv)
    files = args.files or doc_files()

    problems = [problem for path in files for problem in extract(path)[1]]
    for problem in problems:
        sys.stderr.write(f"{problem}\n")
    if problems or args.check:
        return 1 if problems else 0
    failed = 0
    for path in files:
        outcome = run_file(path, base=args.base, timeout=args.timeout)
        status = "ok" if outcome.returncode == 0 else f"FAILED (exit {outcome.returncode})"
        sys.stdout.write(f"{_relative(path)}: {outcome.ran} blocks run, {outcome.skipped} not run: {status}\n")
        failed += bool(outcome.returncode)
        if outcome.returncode or args.verbose:
            sys.stdout.write(outcome.output + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
