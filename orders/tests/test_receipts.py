"""PDF receipts checked with poppler's own tools: fonts embedded, text extractable as written, layout per page."""

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest

from orders.models import Order, OrderItem
from orders.receipts import receipt_pdf_render
from orders.tests.factories import OrderFactory, OrderItemFactory, ProductFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext, pdffonts) not installed"),
]

NAMES = {
    "russian": "Настольная лампа «Люмен»",
    "greek": "Κούπα καφέ Ελληνικός",
    "chinese": "陶瓷茶杯 绿茶",
    "japanese": "抹茶ラテ セット",
    "korean": "김치 냉장고",
    "emoji": "Party pack 🎉🎈",
    "hebrew": "מנורת שולחן",
    "arabic": "مصباح مكتب",
}


def receipt(tmp_path: Path, names: list[str], **order_fields) -> Path:
    order = cast(Order, OrderFactory(total_price=Decimal("0.00"), **order_fields))
    total = Decimal(0)
    for name in names:
        item = cast(
            OrderItem, OrderItemFactory(order=order, product=ProductFactory(name=name), product_name=name, quantity=2)
        )
        total += item.line_total
    order.total_price = total
    order.save()
    path = tmp_path / "receipt.pdf"
    path.write_bytes(receipt_pdf_render(order=order))
    return path


def pdftotext(path: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True, text=True, check=True).stdout


def pdffonts(path: Path) -> list[dict[str, str]]:
    """pdffonts' table: name, type, emb (yes/no), sub, uni per font."""
    lines = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
    fonts = []
    for line in lines[2:]:
        name, kind, *rest = line.split()
        # name type [type word] encoding emb sub uni object ID
        emb, sub, uni = rest[-5], rest[-4], rest[-3]
        fonts.append({"name": name, "type": kind, "emb": emb, "sub": sub, "uni": uni})
    return fonts


def test_every_font_is_an_embedded_unicode_subset(tmp_path):
    path = receipt(tmp_path, list(NAMES.values()))

    fonts = pdffonts(path)

    names = {re.sub(r"^[A-Z]{6}\+", "", font["name"]) for font in fonts}
    assert {"DejaVuSans", "DejaVuSans-Bold", "DroidSansFallback", "Symbola"} <= names
    assert all((f["emb"], f["sub"], f["uni"]) == ("yes", "yes", "yes") for f in fonts), fonts


@pytest.mark.parametrize("script", ["russian", "greek", "chinese", "japanese", "korean"])
def test_product_name_extracts_exactly_as_written(tmp_path, script):
    path = receipt(tmp_path, [NAMES[script]])

    text = pdftotext(path)

    assert NAMES[script] in text


def test_cyrillic_customer_and_shop_name_extract_exactly(tmp_path, settings):
    settings.ORDERS_SHOP_NAME = "Магазин «Уют»"
    settings.ORDERS_CURRENCY = "RUB"
    path = receipt(tmp_path, ["Чайник"])

    text = pdftotext(path)

    assert "Магазин «Уют»" in text
    assert "Unit price (RUB)" in text
    assert re.search(r"Total\s+2[0-9.,]* RUB", text) or "RUB" in text.split("Total", 1)[1]


def test_emoji_are_drawn_from_the_monochrome_emoji_font(tmp_path):
    """Drawn with Symbola's glyphs. reportlab writes the text map of characters
    beyond U+FFFF without surrogates, so pdftotext reads them as other characters."""
    path = receipt(tmp_path, [NAMES["emoji"]])

    text = pdftotext(path)

    assert "Party pack" in text
    assert any(re.sub(r"^[A-Z]{6}\+", "", font["name"]) == "Symbola" for font in pdffonts(path))


@pytest.mark.parametrize("script", ["hebrew", "arabic"])
def test_right_to_left_names_read_in_their_own_order(tmp_path, script):
    """pdftotext puts right-to-left runs back in logical order; Arabic comes out as joined presentation forms."""
    import unicodedata

    path = receipt(tmp_path, [NAMES[script]])

    text = unicodedata.normalize("NFKC", pdftotext(path))

    assert NAMES[script] in text


def test_arabic_letters_are_joined(tmp_path):
    """Shaped text uses the contextual forms (initial/medial/final); unshaped text would show only isolated letters."""
    path = receipt(tmp_path, [NAMES["arabic"]])

    text = pdftotext(path)

    assert any(0xFE70 <= ord(c) <= 0xFEFF for c in text)
    assert not any(0x0620 <= ord(c) <= 0x064A for c in text)


def test_long_receipt_has_header_on_every_page_page_numbers_and_one_total(tmp_path, settings):
    settings.ORDERS_SHOP_NAME = "Lumen Home"
    settings.ORDERS_CURRENCY = "EUR"
    names = [f"{name} {i}" for i in range(12) for name in NAMES.values()]
    path = receipt(tmp_path, names)

    pages = pdftotext(path, "-layout").split("\f")[:-1]

    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert re.search(r"Product\s+Quantity\s+Unit price \(EUR\)\s+Line total \(EUR\)", page), number
        assert f"Page {number} of {len(pages)}" in page
        assert "Lumen Home" in page
    assert sum(len(re.findall(r"\bTotal\b", page)) for page in pages) == 1
    assert re.search(r"Total\s+[\d,]+\.\d\d EUR", pages[-1])


def test_very_long_name_wraps_inside_its_column(tmp_path):
    name = "Очень длинное название товара, " * 4 + "陶瓷茶杯绿茶" * 8
    path = receipt(tmp_path, [name])

    text = pdftotext(path)

    assert "Очень длинное название товара" in text
    assert "Page 1 of 1" in text
