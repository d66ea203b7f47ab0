"""An independent oracle: the report computed in plain Python from the rows, written
apart from the app (no SQL, no shared code) so the tests compare two derivations."""

import csv
import io
from collections import defaultdict
from decimal import Decimal

HEADER = ["customer", "item", "total", "quantity", "date"]


def oracle_report(rows: list[tuple[str, str, Decimal]]) -> list[dict]:
    spent: dict[str, Decimal] = defaultdict(Decimal)
    bought: dict[str, set[str]] = defaultdict(set)
    for customer, item, total in rows:
        spent[customer] += total
        bought[customer].add(item)
    top = sorted(spent, key=lambda name: (-spent[name], name))[:5]
    report = []
    for name in top:
        gems = [item for item in bought[name] if sum(item in bought[other] for other in top) >= 2]
        money = spent[name]
        number = int(money) if money == money.to_integral_value() else float(money)
        report.append({"username": name, "spent_money": number, "gems": sorted(gems)})
    return report


def oracle_rows_from_csv(data: bytes) -> list[tuple[str, str, Decimal]]:
    """The rows of a well-formed file, read with csv.DictReader."""
    text = data.decode("utf-8-sig")
    return [
        (row["customer"], row["item"], Decimal(row["total"]))
        for row in csv.DictReader(io.StringIO(text, newline=""))
        if any(row.values())
    ]


def csv_bytes(rows: list[list[str]], *, header=HEADER, newline="\r\n", bom=False) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()
