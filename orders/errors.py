"""Errors of the shop, each with a message a customer or an admin can act on."""

from config.errors import ApplicationError, Conflict


class InsufficientStock(ApplicationError):
    code = "insufficient_stock"


class InvalidTransition(ApplicationError):
    code = "invalid_transition"


class ProductInUse(Conflict):
    code = "product_in_use"


class ShippingApiError(Exception):
    """The shipping API did not accept the notification (retried by the task)."""
