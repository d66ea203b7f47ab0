from decimal import Decimal

import pytest
from django.contrib.admin.sites import site

from deals.models import CustomerItem, CustomerTotal, Deal, DealSet

pytestmark = pytest.mark.django_db


def test_str_names_what_each_row_is():
    dealset = DealSet(pk=3, rows=767, is_current=True)

    assert [
        str(dealset),
        str(Deal(customer="ann", item="Ruby", total=Decimal("612"), quantity=6)),
        str(CustomerItem(customer="ann", item="Ruby")),
        str(CustomerTotal(customer="ann", spent_cents=61200)),
    ] == ["DealSet 3 (767 rows, current)", "ann bought 6 Ruby for 612", "ann: Ruby", "ann: 61200 cents"]


def test_admin_shows_data_sets_read_only(rf, staff_user):
    request = rf.get("/")
    request.user = staff_user
    admin = site._registry[DealSet]

    assert (admin.has_add_permission(request), admin.has_delete_permission(request)) == (False, False)
