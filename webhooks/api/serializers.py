"""Input and output shapes of the webhooks API."""

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.representation import DATETIME, rendered
from webhooks.models import SUBSCRIBABLE, DeliveryAttempt, Endpoint
from webhooks.transport import UrlRefused, url_parse

MAX_URL_LENGTH = 2000
MAX_EVENT_ITEMS = 4 * len(SUBSCRIBABLE)
EXAMPLE_URL = "https://hooks.example.com/four-products"
# Scheme, a host (no user info; IPv6 literals are not taken), an optional port 0-65535,
# then any printable ASCII. Whether the host resolves, and where to, is checked apart.
URL_PATTERN = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9._~!$&'()*+,;=%-]+"
    r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0))?"
    r"([/?#][!-~]*)?$"
)
URL_RE = re.compile(URL_PATTERN.removesuffix("$"))


@extend_schema_field(
    # No "format": "uri": the pattern is what is taken, and it is looser than RFC 3986 in the path.
    {"type": "string", "maxLength": MAX_URL_LENGTH, "pattern": URL_PATTERN, "example": EXAMPLE_URL}
)
class WebhookUrlField(serializers.CharField):
    """An absolute http(s) URL with a host: exactly what ``URL_PATTERN`` (and the schema) says."""

    default_error_messages = {
        "invalid": "Give an absolute http:// or https:// URL with a host name, such as " + EXAMPLE_URL + "."
    }

    def __init__(self, **kwargs):
        super().__init__(max_length=MAX_URL_LENGTH, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not URL_RE.fullmatch(value):
            self.fail("invalid")
        try:
            url_parse(value)
        except UrlRefused as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "enum": SUBSCRIBABLE},
        "minItems": 1,
        "maxItems": MAX_EVENT_ITEMS,
        "description": "Event types to receive; at least one (duplicates are merged).",
    }
)
class EventTypesField(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(
            child=serializers.ChoiceField(choices=SUBSCRIBABLE),
            allow_empty=False,
            max_length=MAX_EVENT_ITEMS,
            **kwargs,
        )

    def to_internal_value(self, data):
        # Duplicates merged, first-seen order kept.
        return list(dict.fromkeys(super().to_internal_value(data)))


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only (DRF would also take 0, 1, "yes"...), as the schema says."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class EndpointCreateInputSerializer(serializers.Serializer):
    url = WebhookUrlField()
    events = EventTypesField()


class EndpointUpdateInputSerializer(serializers.Serializer):
    url = WebhookUrlField(required=False)
    events = EventTypesField(required=False)
    active = StrictBooleanField(required=False)


class EndpointOutputSerializer(serializers.ModelSerializer):
    url = serializers.CharField(help_text="As registered (see the pattern of the input).")
    events = serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIBABLE))

    class Meta:
        model = Endpoint
        fields = ["id", "url", "events", "active", "created_at"]

    def to_representation(self, instance: Endpoint) -> dict:
        return endpoint_representation(instance)


def endpoint_representation(endpoint: Endpoint) -> dict:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "active": endpoint.active,
        "created_at": rendered(DATETIME, endpoint.created_at),
    }


class EndpointCreatedOutputSerializer(EndpointOutputSerializer):
    secret = serializers.CharField(
        help_text="Signing secret, `whsec_` + base64 of 32 random bytes; shown only in this answer."
    )

    class Meta(EndpointOutputSerializer.Meta):
        fields = ["id", "url", "events", "active", "secret", "created_at"]

    def to_representation(self, instance: Endpoint) -> dict:
        data = endpoint_representation(instance)
        created_at = data.pop("created_at")
        return {**data, "secret": instance.secret, "created_at": created_at}


class TestEventOutputSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The event id, sent as `webhook-id`.")
    type = serializers.CharField()
    timestamp = serializers.DateTimeField()
    # A declared field (the schema says "object"); DRF keeps it off the class, so `.data` is not shadowed.
    data = serializers.DictField(help_text="The endpoint, as this API serializes it.")  # type: ignore[assignment]


class DeliveryAttemptOutputSerializer(serializers.ModelSerializer):
    event_id = serializers.CharField()
    type = serializers.CharField(source="event.type")
    attempt = serializers.IntegerField(source="number", help_text="Attempt number of this event, from 1.")
    status_code = serializers.IntegerField(allow_null=True, help_text="The receiver's HTTP status; null without one.")
    error = serializers.CharField(help_text="Why the attempt failed (empty on success; `sending` while in flight).")
    duration_ms = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField(source="attempted_at")

    class Meta:
        model = DeliveryAttempt
        fields = ["id", "event_id", "type", "attempt", "succeeded", "status_code", "error", "duration_ms", "created_at"]

    def to_representation(self, instance: DeliveryAttempt) -> dict:
        return {
            "id": instance.pk,
            "event_id": instance.event_id,
            "type": instance.event.type,
            "attempt": instance.number,
            "succeeded": instance.succeeded,
            "status_code": instance.status_code,
            "error": instance.error if instance.finished_at else "sending",
            "duration_ms": instance.duration_ms,
            "created_at": rendered(DATETIME, instance.attempted_at),
        }
