"""Fixtures of the deals tests: the real sample file and upload helpers."""

from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parent / "data" / "deals.csv"  # byte-identical to shared/data/deals.csv


@pytest.fixture
def sample_csv() -> bytes:
    return SAMPLE.read_bytes()
