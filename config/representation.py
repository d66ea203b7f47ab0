"""Values rendered exactly as DRF's fields render them, for output serializers whose
``to_representation`` builds the dict directly.

DRF's generic walk (``Serializer.to_representation``) builds every field of every
nested serializer for each request and then visits them per row: most of the CPU
time of a list of 20 orders with their lines (docs/benchmarks.md, "The ordinary
path"). The fields below are built once, at import; rendering through them keeps
the output byte-for-byte DRF's, which each app's tests compare against a plain
``ModelSerializer`` of the same shape.
"""

import decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

# In the default time zone (TIME_ZONE), named once: the project activates no other, and
# the field would otherwise look the current one up (a context-local read) per value.
DATETIME = serializers.DateTimeField(default_timezone=timezone.get_default_timezone())


class _DecimalField(serializers.DecimalField):
    """DRF's ``DecimalField`` whose ``quantize`` makes its exponent once, not per value
    (a power of ``Decimal(".1")``); the context is still the current one, as DRF's."""

    def __init__(self, *, max_digits: int, decimal_places: int) -> None:
        super().__init__(max_digits=max_digits, decimal_places=decimal_places)
        self.exponent = decimal.Decimal(".1") ** decimal_places
        self.precision = max_digits

    def quantize(self, value: decimal.Decimal) -> decimal.Decimal:
        context = decimal.getcontext().copy()
        context.prec = self.precision
        return value.quantize(self.exponent, rounding=self.rounding, context=context)


MONEY = _DecimalField(max_digits=18, decimal_places=2)


def rendered(field: serializers.Field, value: Any) -> Any:
    """``value`` as ``field`` renders it inside a serializer: ``None`` stays ``None``."""
    return None if value is None else field.to_representation(value)
