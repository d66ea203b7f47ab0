"""Log in with either the email address (any case) or the username."""

from django.contrib.auth.backends import ModelBackend

from accounts.selectors import user_get_by_login


class EmailOrUsernameBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        login = email or username
        if not login or password is None:
            return None
        user = user_get_by_login(login=login)
        if user is None:
            # Hash anyway so a missing account and a wrong password take as long.
            self.user_model().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    @property
    def user_model(self):
        from django.contrib.auth import get_user_model

        return get_user_model()
