"""Input and output shapes of the auth API."""

from rest_framework import serializers

from accounts.models import User


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150, required=False)


class LoginInputSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254, required=False)
    username = serializers.CharField(max_length=150, required=False)
    password = serializers.CharField(max_length=128, trim_whitespace=False)

    def validate(self, attrs):
        if not attrs.get("email") and not attrs.get("username"):
            raise serializers.ValidationError({"email": ["Give your email (or username) and password."]})
        return attrs


class TokenPairOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class UserOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "username", "is_staff"]
