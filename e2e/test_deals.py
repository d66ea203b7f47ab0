"""deals over HTTP: replace the data set with deals.csv and read the top 5, checked
against the top 5 computed here from the same file."""

import csv
from collections import defaultdict
from decimal import Decimal

from e2e.support import ROOT

DEALS_CSV = ROOT / "deals" / "tests" / "data" / "deals.csv"


def expected_top5(path) -> list[dict]:
    spent: dict[str, Decimal] = defaultdict(Decimal)
    items: dict[str, set[str]] = defaultdict(set)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            spent[row["customer"]] += Decimal(row["total"])
            items[row["customer"]].add(row["item"])
    top = sorted(spent, key=lambda customer: (-spent[customer], customer))[:5]
    answer = []
    for customer in top:
        shared = {item for item in items[customer] if sum(item in items[other] for other in top) >= 2}
        answer.append({"username": customer, "spent_money": spent[customer], "gems": sorted(shared)})
    return answer


def test_replace_the_data_set_and_read_the_top_5(user_api):
    with DEALS_CSV.open("rb") as handle:
        uploaded = user_api.post("/api/deals/", files={"deals": ("deals.csv", handle, "text/csv")}, timeout=120)
    top = user_api.get("/api/deals/")

    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["Status"] == "OK"
    assert top.status_code == 200
    answer = top.json()["response"]
    assert [{**row, "spent_money": Decimal(str(row["spent_money"]))} for row in answer] == expected_top5(DEALS_CSV)


def test_a_bad_file_leaves_the_data_set_untouched(user_api):
    before = user_api.get("/api/deals/").json()
    bad = b"customer,item,total,quantity,date\nbob,Ruby,not-a-number,1,2018-12-14 08:29:52.506166\n"
    rejected = user_api.post("/api/deals/", files={"deals": ("bad.csv", bad, "text/csv")})

    assert rejected.status_code == 400
    assert rejected.json()["Status"] == "Error"
    assert "2" in rejected.json()["Desc"]  # names line 2
    assert user_api.get("/api/deals/").json() == before
