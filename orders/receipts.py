"""The PDF receipt of an order, drawn with reportlab in embedded Unicode fonts, any script legible."""

import functools
import io
import unicodedata
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import arabic_reshaper
from bidi import get_display
from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from orders.models import Order

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
REGULAR, BOLD = "ReceiptSans", "ReceiptSans-Bold"
# Tried in this order for each character: DejaVu (Latin, Cyrillic, Greek,
# Arabic, Hebrew), then CJK, then monochrome emoji. reportlab embeds a subset
# of each font that a receipt uses.
FALLBACKS = (("ReceiptCJK", "DroidSansFallback.ttf"), ("ReceiptEmoji", "Symbola.ttf"))
NAME_COLUMN_WIDTH = 80 * mm
FONT_SIZE = 10
# Characters that select a glyph variant or join emoji: no font here draws
# them, so they are dropped instead of printing as empty boxes.
_INVISIBLE = dict.fromkeys([0x200D, *range(0xFE00, 0xFE10)])


@functools.cache
def _fonts() -> dict[str, set[int]]:
    """Register the vendored fonts once per process; the code points each one covers."""
    covered = {}
    for name, file in ((REGULAR, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf"), *FALLBACKS):
        font = TTFont(name, str(FONTS_DIR / file))
        pdfmetrics.registerFont(font)
        covered[name] = set(font.face.charToGlyph)
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD)
    return covered


def _font_for(char: str, primary: str) -> str:
    covered = _fonts()
    if ord(char) in covered[primary] or char.isspace():
        return primary
    return next((name for name, _ in FALLBACKS if ord(char) in covered[name]), primary)


def _runs(text: str, primary: str) -> list[tuple[str, str]]:
    """``text`` cut into runs of characters that one font draws: (font name, run)."""
    runs: list[tuple[str, str]] = []
    for char in text:
        font = _font_for(char, primary)
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + char)
        else:
            runs.append((font, char))
    return runs


def _width(text: str, primary: str) -> float:
    return sum(pdfmetrics.stringWidth(run, font, FONT_SIZE) for font, run in _runs(text, primary))


def _is_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(char) in ("R", "AL") for char in text)


def _lines(text: str, *, width: float, primary: str) -> list[str]:
    """Wrap ``text`` (logical order) at spaces to ``width``; a word wider than a line is cut."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if _width(candidate, primary) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while _width(word, primary) > width:  # e.g. CJK without spaces
            cut = next(i for i in range(len(word), 0, -1) if _width(word[:i], primary) <= width or i == 1)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    return [*lines, current] if current else lines


def _markup(text: str, *, width: float | None = None, bold: bool = False) -> str:
    """Paragraph markup that prints ``text`` as written in any script.

    Arabic letters are joined into their contextual forms and right-to-left
    runs are put in visual order (Unicode bidi algorithm), one line at a time:
    that is why the text is wrapped here, in logical order, before reordering.
    Each run of characters is set in the first font that has them.
    """
    primary = BOLD if bold else REGULAR
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    rtl = _is_rtl(text)
    if rtl:
        text = arabic_reshaper.reshape(text)
    lines = _lines(text, width=width, primary=primary) if width else [text]
    if rtl:
        lines = [get_display(line) for line in lines]
    return "<br/>".join(
        "".join(
            escape(run) if font == primary else f'<font name="{font}">{escape(run)}</font>'
            for font, run in _runs(line, primary)
        )
        for line in lines
    )


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


class _ReceiptPages:
    """Draws the footer of each page: shop, order number and "Page n of m"."""

    def __init__(self, *, shop: str, number: str, total_pages: int) -> None:
        self.shop, self.number, self.total_pages = shop, number, total_pages
        self.pages = 0

    def __call__(self, canvas: Canvas, doc: SimpleDocTemplate) -> None:
        self.pages = doc.page
        canvas.saveState()
        canvas.setFont(REGULAR, 8)
        x = doc.leftMargin
        for font, run in _runs(f"{self.shop} · {self.number}", REGULAR):
            canvas.setFont(font, 8)
            canvas.drawString(x, 10 * mm, run)
            x += pdfmetrics.stringWidth(run, font, 8)
        canvas.setFont(REGULAR, 8)
        canvas.drawRightString(doc.pagesize[0] - doc.rightMargin, 10 * mm, f"Page {doc.page} of {self.total_pages}")
        canvas.restoreState()


def receipt_pdf_render(*, order: Order) -> bytes:
    """Shop, order number, date, customer, one row per line (header on every page), the total once.

    Most receipts fit one page, so the document is laid out for one; only a
    longer one is laid out a second time, now knowing its page count.
    """
    _fonts()
    pdf, pages = _receipt_build(order=order, total_pages=1)
    if pages > 1:
        pdf, _ = _receipt_build(order=order, total_pages=pages)
    return pdf


def _receipt_build(*, order: Order, total_pages: int) -> tuple[bytes, int]:
    shop, currency = settings.ORDERS_SHOP_NAME, settings.ORDERS_CURRENCY
    body = ParagraphStyle("body", fontName=REGULAR, fontSize=FONT_SIZE, leading=13)
    title = ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=16, leading=20, spaceAfter=4)
    cell_padding = 6 * 2
    rows: list[list] = [
        ["Product", "Quantity", f"Unit price ({currency})", f"Line total ({currency})"],
    ]
    for item in order.items.all():
        rows.append(
            [
                Paragraph(_markup(item.product_name, width=NAME_COLUMN_WIDTH - cell_padding), body),
                str(item.quantity),
                _money(item.price_at_purchase),
                _money(item.line_total),
            ]
        )
    rows.append(["", "", "Total", f"{_money(order.total_price)} {currency}"])
    table = Table(rows, colWidths=[NAME_COLUMN_WIDTH, 24 * mm, 34 * mm, 36 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), REGULAR, FONT_SIZE),
                ("FONT", (0, 0), (-1, 0), BOLD, FONT_SIZE),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 1, colors.black),
                ("FONT", (0, -1), (-1, -1), BOLD, FONT_SIZE),
            ]
        )
    )
    customer = order.user.email or order.user.get_username()
    story = [
        Paragraph(_markup(shop, bold=True), title),
        Paragraph(f"Receipt for order {order.number}", body),
        Paragraph(f"Date: {order.created_at:%Y-%m-%d %H:%M} UTC", body),
        Paragraph(f"Customer: {_markup(customer)}", body),
        Paragraph(f"Currency: {escape(currency)}", body),
        Spacer(1, 6 * mm),
        table,
    ]
    pages = _ReceiptPages(shop=shop, number=order.number, total_pages=total_pages)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"{shop}: receipt {order.number}",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        bottomMargin=20 * mm,
        initialFontName=REGULAR,  # else each page starts in Helvetica, a font that is never embedded
    )
    doc.build(story, onFirstPage=pages, onLaterPages=pages)
    return buffer.getvalue(), pages.pages
