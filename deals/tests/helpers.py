"""Helpers shared by the deals API tests."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse


def post_deals(client, data: bytes, name: str = "deals.csv"):
    return client.post(
        reverse("deals-api:deals"), {"deals": SimpleUploadedFile(name, data, "text/csv")}, format="multipart"
    )


H = b"customer,item,total,quantity,date\r\n"
OK_ROW = b"ann,Ruby,10,1,2018-12-14 08:29:52.506166\r\n"
WHEN = "2018-12-14 08:29:52.506166"


def request_fault(desc: str) -> dict:
    """The whole 400 body for a fault of the request itself: one error, no line."""
    return {
        "Status": "Error",
        "Desc": desc,
        "Errors": [{"line": None, "column": None, "message": desc}],
        "ErrorCount": 1,
    }


def file_fault(desc: str, line: int, column: int | None) -> dict:
    """The whole 400 body for a file with one fault, ``desc`` being ``Line <line>: <message>``."""
    message = desc.removeprefix(f"Line {line}: ")
    return {
        "Status": "Error",
        "Desc": desc,
        "Errors": [{"line": line, "column": column, "message": message}],
        "ErrorCount": 1,
    }


# (file, the exact Desc): one per way a file can be refused.
BAD_DATE = "Line 3: date must be an ISO 8601 date and time like 2018-12-14 08:29:52.506166, got "

MALFORMED = {
    "empty": (b"", "The file is empty: send a CSV with the header customer,item,total,quantity,date."),
    "bom only": (b"\xef\xbb\xbf", "The file is empty: send a CSV with the header customer,item,total,quantity,date."),
    "header only": (H, "The file has a header but no deals (line 2 onwards is empty)."),
    "missing column": (
        b"customer,item,total,date\r\nann,Ruby,10,2018-12-14 08:29:52\r\n",
        "Line 1: the header must name exactly the columns customer, item, total, quantity, date (in any order): "
        "missing quantity",
    ),
    "unknown column": (
        b"customer,item,total,quantity,date,note\r\n",
        "Line 1: the header must name exactly the columns customer, item, total, quantity, date (in any order): "
        "unexpected 'note'",
    ),
    "repeated column": (
        b"customer,item,total,quantity,date,item\r\n",
        "Line 1: the header must name exactly the columns customer, item, total, quantity, date (in any order): "
        "repeated item",
    ),
    "no header": (
        OK_ROW,
        "Line 1: the header must name exactly the columns customer, item, total, quantity, date (in any order): "
        "missing customer, item, total, quantity, date; unexpected 'ann', 'Ruby', '10', '1', "
        "'2018-12-14 08:29:52.506166'",
    ),
    "too few fields": (H + OK_ROW + b"bob,Ruby,10,1\r\n", "Line 3: expected 5 fields, got 4"),
    "too many fields": (H + OK_ROW + b"bob,Ruby,10,1," + WHEN.encode() + b",x\r\n", "Line 3: expected 5 fields, got 6"),
    "non-numeric total": (
        H + b"bob,Ruby,ten,1," + WHEN.encode() + b"\r\n",
        "Line 2: total must be a non-negative number like 612 or 612.50, got 'ten'",
    ),
    "negative total": (
        H + b"bob,Ruby,-5.5,1," + WHEN.encode() + b"\r\n",
        "Line 2: total must not be negative, got '-5.5'",
    ),
    "three decimals": (
        H + b"bob,Ruby,5.555,1," + WHEN.encode() + b"\r\n",
        "Line 2: total has more than 2 decimal places: '5.555'",
    ),
    "huge total": (
        H + b"bob,Ruby,12345678901,1," + WHEN.encode() + b"\r\n",
        "Line 2: total is too large (at most 10 digits before the point)",
    ),
    "empty total": (
        H + b"bob,Ruby,,1," + WHEN.encode() + b"\r\n",
        "Line 2: total must be a non-negative number like 612 or 612.50, got ''",
    ),
    "zero quantity": (
        H + b"bob,Ruby,5,0," + WHEN.encode() + b"\r\n",
        "Line 2: quantity must be a positive whole number, got '0'",
    ),
    "fractional quantity": (
        H + b"bob,Ruby,5,1.5," + WHEN.encode() + b"\r\n",
        "Line 2: quantity must be a positive whole number, got '1.5'",
    ),
    "negative quantity": (
        H + b"bob,Ruby,5,-2," + WHEN.encode() + b"\r\n",
        "Line 2: quantity must be a positive whole number, got '-2'",
    ),
    "huge quantity": (
        H + b"bob,Ruby,5,2147483648," + WHEN.encode() + b"\r\n",
        "Line 2: quantity is too large (at most 2147483647)",
    ),
    "bad date": (
        H + b"bob,Ruby,5,1,yesterday\r\n",
        "Line 2: date must be an ISO 8601 date and time like 2018-12-14 08:29:52.506166, got 'yesterday'",
    ),
    "impossible date": (
        H + b"bob,Ruby,5,1,2019-02-30 10:00:00\r\n",
        "Line 2: date must be an ISO 8601 date and time like 2018-12-14 08:29:52.506166, got '2019-02-30 10:00:00'",
    ),
    "date without time": (
        H + b"bob,Ruby,5,1,2019-02-03\r\n",
        "Line 2: date must be an ISO 8601 date and time like 2018-12-14 08:29:52.506166, got '2019-02-03'",
    ),
    "empty customer": (H + b",Ruby,5,1," + WHEN.encode() + b"\r\n", "Line 2: customer is empty"),
    "blank item": (H + b"bob,  ,5,1," + WHEN.encode() + b"\r\n", "Line 2: item is empty"),
    "NUL byte": (H + OK_ROW + b"bo\x00b,Ruby,5,1," + WHEN.encode() + b"\r\n", "Line 3: customer contains a NUL byte"),
    "NUL byte after the date": (
        H + OK_ROW + b"bob,Ruby,5,1,2018-12-14 08:29:52.506166\x00\r\n",
        BAD_DATE + "'2018-12-14 08:29:52.506166\\x00'",
    ),
    "non-ASCII digit as the date's separator": (
        H + "bob,Ruby,5,1,2018-12-14\u066008:29:52\r\n".encode(),
        BAD_DATE.replace("3", "2", 1) + "'2018-12-14\u066008:29:52'",
    ),
    "not UTF-8": (
        H + OK_ROW * 3000 + "Рубин,x,1,1,2018-12-14 08:29:52\r\n".encode("cp1251"),
        "Line 3002: the file is not UTF-8 text",
    ),
    "field over the csv limit": (
        H + OK_ROW + b'bob,"' + b"x" * 131_073 + b'",5,1,' + WHEN.encode() + b"\r\n",
        "Line 3: malformed CSV (field larger than field limit (131072))",
    ),
    "stray quote": (
        H + b'bob,"Ruby"x,5,1,' + WHEN.encode() + b"\r\n",
        "Line 2: malformed CSV (',' expected after '\"')",
    ),
    "row after a multi-line field": (
        H + b'bob,"Ru\r\nby",5,1,' + WHEN.encode() + b"\r\nann,Ruby,5,0," + WHEN.encode() + b"\r\n",
        "Line 4: quantity must be a positive whole number, got '0'",
    ),
}

# Where each of MALFORMED's faults is: (line, column), column None for the line itself.
MALFORMED_AT = {
    "empty": (1, None),
    "bom only": (1, None),
    "header only": (2, None),
    "missing column": (1, None),
    "unknown column": (1, None),
    "repeated column": (1, None),
    "no header": (1, None),
    "too few fields": (3, None),
    "too many fields": (3, None),
    "non-numeric total": (2, 3),
    "negative total": (2, 3),
    "three decimals": (2, 3),
    "huge total": (2, 3),
    "empty total": (2, 3),
    "zero quantity": (2, 4),
    "fractional quantity": (2, 4),
    "negative quantity": (2, 4),
    "huge quantity": (2, 4),
    "bad date": (2, 5),
    "impossible date": (2, 5),
    "date without time": (2, 5),
    "empty customer": (2, 1),
    "blank item": (2, 2),
    "NUL byte": (3, 1),
    "NUL byte after the date": (3, 5),
    "non-ASCII digit as the date's separator": (2, 5),
    "not UTF-8": (3002, None),
    "field over the csv limit": (3, None),
    "stray quote": (2, None),
    "row after a multi-line field": (4, 4),
}
