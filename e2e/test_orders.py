"""orders over HTTP: staff create a product, a user orders it, the receipt is a PDF
(read back with pdftotext), staff ship the order and the shipping call is recorded."""

import subprocess
import uuid
from decimal import Decimal

import pytest

from e2e.support import wait_until


@pytest.fixture
def product(staff_api) -> dict:
    response = staff_api.post(
        "/api/products/",
        json={
            "name": f"Lamp Ünïcode {uuid.uuid4().hex[:6]}",
            "description": "e2e",
            "price": "12.50",
            "stock": 10,
            "category": "home",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_place_order_download_receipt_ship_and_see_the_shipping_call(base_url, staff_api, user_api, product, tmp_path):
    forbidden = user_api.post("/api/products/", json={**product, "name": "not staff"})
    created = user_api.post("/api/orders/", json={"items": [{"product": product["id"], "quantity": 2}]})
    assert forbidden.status_code == 403
    assert created.status_code == 201, created.text
    order = created.json()
    assert Decimal(order["total_price"]) == Decimal("25.00")
    assert staff_api.get(f"/api/products/{product['id']}/").json()["stock"] == 8

    wait_until(lambda: user_api.get(f"/api/orders/{order['id']}/").json()["receipt_ready"], what="receipt generated")
    receipt = user_api.get(f"/api/orders/{order['id']}/receipt/")
    assert receipt.status_code == 200
    assert receipt.headers["Content-Type"] == "application/pdf"
    (tmp_path / "receipt.pdf").write_bytes(receipt.content)
    text = subprocess.run(  # noqa: S603  (poppler-utils, as the independent reader)
        ["pdftotext", str(tmp_path / "receipt.pdf"), "-"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(order["number"]) in text
    assert product["name"] in text
    assert "25.00" in text

    for status in ("processing", "shipped"):
        moved = staff_api.patch(f"/api/orders/{order['id']}/", json={"status": status})
        assert moved.status_code == 200, moved.text

    def attempted():
        body = user_api.get(f"/api/orders/{order['id']}/").json()
        return body if body["shipping_attempts"] else None

    shipped = wait_until(attempted, timeout=60, what="shipping call recorded")
    assert shipped["status"] == "shipped"
    assert shipped["shipping_attempts"][0]["number"] == 1
    # The stack serves its own shipping API stand-in (the default shipping URL).
    done = wait_until(
        lambda: (body := user_api.get(f"/api/orders/{order['id']}/").json())["shipping_status"] != "pending" and body,
        timeout=60,
        what="shipping call finished",
    )
    assert done["shipping_status"] == "succeeded", done
    assert done["shipping_attempts"][-1]["succeeded"] is True
