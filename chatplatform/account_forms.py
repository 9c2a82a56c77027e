"""The forms of the sign-in's code step, the authenticator's set-up, and the password reset."""

from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.utils.crypto import get_random_string
from django.utils.translation import gettext_lazy as _

from .worker import enqueue

CODE_MAX_LENGTH = 32


def _normalised(code: str) -> str:
    # Authenticator apps show "123 456"; recovery codes are read aloud or copied with spaces and capitals.
    return "".join(code.split()).lower()


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"), max_length=CODE_MAX_LENGTH, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True,
                                      "spellcheck": "false", "autocapitalize": "off"}),
    )

    def clean_code(self):
        code = _normalised(self.cleaned_data["code"])
        if not code.isascii() or not code.isalnum():
            raise forms.ValidationError(_("Enter the code as your app or your list of recovery codes shows it."))
        return code


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, its e-mail left to the background worker (chatplatform/account_tasks.py).

    The worker makes the link itself (the one-time token never sits in the queue's table) and
    sends it once. The page answers the same whether or not an account uses the address.
    """

    def save(self, **kwargs):
        from .account_tasks import email_password_reset

        for user in self.get_users(self.cleaned_data["email"]):
            enqueue(email_password_reset, user_id=user.pk, nonce=get_random_string(20))
