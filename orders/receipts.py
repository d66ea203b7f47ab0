"""The PDF receipt of an order, drawn with reportlab."""

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from orders.models import Order


def receipt_pdf_render(*, order: Order) -> bytes:
    """Order number, date, customer, one row per line and the total, on A4."""
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=f"Receipt {order.number}", leftMargin=18 * mm)
    rows = [["Product", "Quantity", "Unit price", "Line total"]]
    for item in order.items.all():
        rows.append(
            [
                Paragraph(escape(item.product_name), styles["BodyText"]),
                str(item.quantity),
                f"{item.price_at_purchase:.2f}",
                f"{item.line_total:.2f}",
            ]
        )
    rows.append(["", "", "Total", f"{order.total_price:.2f}"])
    table = Table(rows, colWidths=[85 * mm, 25 * mm, 30 * mm, 30 * mm])
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("LINEABOVE", (0, -1), (-1, -1), 1, colors.black),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
            ]
        )
    )
    customer = escape(order.user.email or order.user.get_username())
    story = [
        Paragraph(f"Receipt for order {order.number}", styles["Title"]),
        Paragraph(f"Date: {order.created_at:%Y-%m-%d %H:%M} UTC", styles["Normal"]),
        Paragraph(f"Customer: {customer}", styles["Normal"]),
        Spacer(1, 8 * mm),
        table,
        Spacer(1, 6 * mm),
        Paragraph(f"Total: {order.total_price:.2f}", styles["Heading2"]),
    ]
    doc.build(story)
    return buffer.getvalue()
