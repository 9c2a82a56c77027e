"""Hooks that close an expert's open sockets when the session behind them stops being valid.

Thin edges only: each calls ``services.close_user_sockets``. A socket keeps the
session it was opened with, so without these a signed-out expert, or one whose
password was changed (e.g. after a stolen session), would keep chatting.
"""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from . import services


@receiver(user_logged_out, dispatch_uid="experts.close_sockets_on_logout")
def close_sockets_on_logout(sender, request, user, **kwargs):
    if user is not None:
        services.close_user_sockets(user=user, code=services.REVOKED_SIGNED_OUT, detail="You signed out.")


class CloseSocketsOnPasswordChange:
    """Listed in AUTH_PASSWORD_VALIDATORS for its ``password_changed`` hook.

    Django calls it from ``User.save()`` after every ``set_password`` (the
    password-change view, the admin, ``changepassword``), so no path is missed.
    It validates nothing. A user created with a password has no socket yet: the
    event reaches nobody.
    """

    def validate(self, password, user=None):
        return None

    def password_changed(self, password, user=None):
        if user is not None and user.pk is not None:
            services.close_user_sockets(
                user=user, code=services.REVOKED_SIGNED_OUT, detail="Your password was changed: sign in again."
            )

    def get_help_text(self):
        return ""
