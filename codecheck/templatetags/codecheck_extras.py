"""Template helpers of the codecheck pages: times with their zone, the source listing."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

from codecheck.listing import FindingView, Listing, finding_html, listing_rows_html

register = template.Library()

WHEN_FORMAT = "Y-m-d H:i T"


@register.filter
def when(value: datetime | None) -> str:
    """``2026-12-07 17:40 UTC`` in the site's time zone, in a ``<time>`` element that
    carries the exact instant; nothing for no time."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    return format_html('<time datetime="{}">{}</time>', local.isoformat(), date_format(local, WHEN_FORMAT))


@register.filter
def source_rows(listing: Listing) -> SafeString:
    return listing_rows_html(listing)


@register.filter
def finding(f: FindingView) -> SafeString:
    return finding_html(f)
