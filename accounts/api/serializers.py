"""Input and output shapes of the auth API."""

from django.core.validators import RegexValidator
from rest_framework import serializers

from accounts.models import User
from config.fields import NO_NUL, NOT_BLANK, TextField


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = TextField(write_only=True, max_length=128, trim_whitespace=False)
    username = TextField(max_length=150, required=False, validators=[RegexValidator(r"^[\w.@+-]+\Z")])


def login_body_schema() -> dict:
    """The login body as the schema documents it: the password and at least one
    of email and username (a serializer cannot say "one of these two")."""
    text = {"type": "string", "minLength": 1, "pattern": NOT_BLANK}
    return {
        "type": "object",
        "properties": {
            "email": {**text, "maxLength": 254},
            "username": {**text, "maxLength": 150},
            "password": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": NO_NUL},
        },
        "required": ["password"],
        "anyOf": [{"required": ["email", "password"]}, {"required": ["username", "password"]}],
    }


class LoginInputSerializer(serializers.Serializer):
    email = TextField(max_length=254, required=False)
    username = TextField(max_length=150, required=False)
    password = TextField(max_length=128, trim_whitespace=False)

    def validate(self, attrs):
        if not attrs.get("email") and not attrs.get("username"):
            raise serializers.ValidationError({"email": ["Give your email (or username) and password."]})
        return attrs


# A JWT: three base64url parts; anything else is refused before it is decoded.
JWT_PATTERN = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$"


class RefreshInputSerializer(serializers.Serializer):
    """The schema of simplejwt's refresh body, with the shape of a token."""

    refresh = serializers.RegexField(JWT_PATTERN)


class TokenPairOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class UserOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "username", "is_staff"]


class ApiKeyCreateInputSerializer(serializers.Serializer):
    name = TextField(max_length=50)


class ApiKeyOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The key's first characters, to tell keys apart.")
    created_at = serializers.DateTimeField(source="created")


class ApiKeyCreatedOutputSerializer(ApiKeyOutputSerializer):
    key = serializers.CharField(help_text="The whole key: shown only in this answer, stored only hashed.")
