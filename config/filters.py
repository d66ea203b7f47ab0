"""Query filters that accept exactly what the schema says they accept."""

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend


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


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, which builds no filter set for a request whose query
    string names none of its filters: with nothing to filter it would build a form and
    copies of every filter only to return the queryset unchanged, on most list requests."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or not _names_a_filter(request.query_params, filterset_class):
            return queryset
        return super().filter_queryset(request, queryset, view)


def _names_a_filter(query_params, filterset_class) -> bool:
    # A filter may read more than one parameter, each starting with its name
    # (``price_min`` and ``price_max`` for a range on ``price``).
    return any(param.startswith(name) for param in query_params for name in filterset_class.base_filters)
