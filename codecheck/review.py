"""What a check says beyond its findings: the change since the previous check, and SARIF."""

from collections import defaultdict, deque
from collections.abc import Iterable
from typing import Any

import flake8

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_CONTENT_TYPE = "application/sarif+json"

FindingDict = dict[str, Any]


def finding_dict(*, line: int, column: int, code: str, message: str) -> FindingDict:
    return {"line": line, "column": column, "code": code, "message": message}


def _in_file_order(findings: Iterable[FindingDict]) -> list[FindingDict]:
    return sorted(findings, key=lambda f: (f["line"], f["column"], f["code"], f["message"]))


def findings_diff(*, previous: Iterable[FindingDict], current: Iterable[FindingDict]) -> tuple[list, list]:
    """``(new, fixed)``: findings matched by (code, message) as multisets, so a finding
    whose line moved is neither new nor fixed, and two identical findings where there
    was one make one new. Equal keys pair up in file order. Fixed ones keep the line
    they had in the previous version."""
    unmatched: dict[tuple[str, str], deque[FindingDict]] = defaultdict(deque)
    for f in _in_file_order(previous):
        unmatched[f["code"], f["message"]].append(f)
    new = []
    for f in _in_file_order(current):
        earlier = unmatched[f["code"], f["message"]]
        if earlier:
            earlier.popleft()
        else:
            new.append(f)
    fixed = _in_file_order(f for left in unmatched.values() for f in left)
    return new, fixed


def sarif_level(code: str) -> str:
    """E9 (the file could not be parsed or read) and pyflakes' F codes are errors; style is a warning."""
    return "error" if code.startswith(("E9", "F")) else "warning"


def check_sarif(*, file_name: str, findings: Iterable[FindingDict]) -> dict[str, Any]:
    """One SARIF 2.1.0 log with one run of flake8 over one file."""
    results = [
        {
            "ruleId": f["code"],
            "level": sarif_level(f["code"]),
            "message": {"text": f["message"]},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": file_name},
                        # SARIF counts from 1; flake8 reports line 0 for a file it could not read at all.
                        "region": {"startLine": max(f["line"], 1), "startColumn": max(f["column"], 1)},
                    }
                }
            ],
        }
        for f in _in_file_order(findings)
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "flake8",
                        "version": flake8.__version__,
                        "informationUri": "https://flake8.pycqa.org/",
                    }
                },
                "artifacts": [{"location": {"uri": file_name}}],
                "results": results,
            }
        ],
    }
