"""A stand-in of the external shipping API, served by the web app so a shipped order completes offline.

``ORDERS_SHIPPING_API_URL`` points here by default (``make run`` and compose);
set it to the real carrier's URL in production. It answers like a carrier
would (201 with a tracking id) and stores nothing.
"""

import json
import logging
import secrets
from http import HTTPStatus

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

logger = logging.getLogger(__name__)


@csrf_exempt  # called server to server by the worker, never from a browser session
@require_POST
def shipping_standin(request: HttpRequest) -> JsonResponse:
    """POST a JSON object with the order number as ``order`` → 201 ``{"id", "order", "status"}``."""
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"detail": "The body must be a JSON object."}, status=HTTPStatus.BAD_REQUEST)
    order = payload.get("order") if isinstance(payload, dict) else None
    if not isinstance(order, str) or not order:
        return JsonResponse({"detail": 'The JSON object needs "order" (the order number).'}, status=400)
    tracking_id = f"STANDIN-{secrets.token_hex(6).upper()}"
    logger.info("shipping stand-in: order %s accepted as %s", order, tracking_id)
    return JsonResponse({"id": tracking_id, "order": order, "status": "accepted"}, status=HTTPStatus.CREATED)


app_name = "stand-in"
urlpatterns = [path("shipping/", shipping_standin, name="shipping")]
