"""Account e-mail sent by the background worker: the password-reset link (chatplatform/worker.py)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext

from .worker import send_mail_once, task


@task()
def email_password_reset(*, user_id: int, nonce: str) -> bool:
    """Send ``user_id`` a link to choose a new password, once per request (``nonce``).

    The link is made here, when the mail leaves: the queue's row holds no usable token.
    """
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).exclude(email="").first()
    if user is None or not user.has_usable_password():
        return False
    path = reverse("password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user),
    })
    context = {"user": user, "link": settings.CHAT_PUBLIC_URL + path,
               "minutes": settings.PASSWORD_RESET_TIMEOUT // 60}
    return send_mail_once(
        key=f"accounts.password_reset:{user.pk}:{nonce}",
        subject=gettext("Choose a new password"),
        body=render_to_string("registration/email/password_reset.txt", context),
        recipients=[user.email],
    )
