"""Query filters that accept exactly what the schema says they accept."""

import django_filters
from django import forms


class StrictFilterSet(django_filters.FilterSet):
    """An empty choice (``?status=``) is refused, as the schema's enum does not
    list it; django-filter would read it as "no filter"."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name, declared in self.filters.items():
            if (
                isinstance(declared, django_filters.ChoiceFilter)
                and not isinstance(declared, django_filters.OrderingFilter)  # an empty list: the default order
                and self.data.get(name) == ""
            ):
                self.form.add_error(name, "Choose one of the listed values.")
                valid = False
        return valid


class IntegerFilter(django_filters.NumberFilter):
    """A whole number, as the schema's ``integer`` says (NumberFilter takes decimals)."""

    field_class = forms.IntegerField
