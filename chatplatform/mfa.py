"""Two-factor sign-in on django-otp: who must pass it, whether a session has, and the sign-in's two steps.

A session has passed two-factor sign-in when it holds the id of one of its
user's confirmed django-otp devices (``django_otp.DEVICE_ID_SESSION_KEY``, set
by ``django_otp.login`` after a right code). Two kinds of device per user: one
TOTP authenticator (an app's six-digit codes) and one "recovery codes" static
device (ten single-use codes, made at set-up and on request).

Required (``CHAT_MANAGER_MFA``, on by default) of every staff account, i.e.
community managers, and every superuser: ``/login/`` asks for the code
before it signs them in, the admin (``AdminTwoFactorMiddleware``) and the
moderation socket refuse a session without it. Optional for experts: once one
has set it up, ``/login/`` asks them too.

The password step does not sign in a user who has a second step: it leaves
their id in the session (``PENDING_KEY``, for CHAT_TWO_FACTOR_PENDING_MINUTES),
and the code step signs them in. A session whose user has not passed is thus
never signed in at all for the experts' pages and sockets.
"""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY, verify_token
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

PENDING_KEY = "chat_two_factor_pending"
RECOVERY_CODE_COUNT = 10
RECOVERY_DEVICE_NAME = "Recovery codes"
AUTHENTICATOR_NAME = "Authenticator app"


def required(user) -> bool:
    """Whether ``user`` must pass two-factor sign-in: staff (community managers) and superusers, unless CHAT_MANAGER_MFA is off."""
    return bool(
        settings.CHAT_MANAGER_MFA and getattr(user, "is_authenticated", False) and user.is_active
        and (user.is_staff or user.is_superuser)
    )


def has_authenticator(user) -> bool:
    """Whether ``user`` has set up an authenticator app (a confirmed TOTP device)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def second_step_needed(user) -> bool:
    """Whether signing ``user`` in takes a code: required of them, or set up by them."""
    return required(user) or has_authenticator(user)


def verified_device(session, user) -> Device | None:
    """The confirmed device of ``user`` this session passed two-factor sign-in with, else None.

    For the sockets (read in a database thread), which have the session but not django-otp's middleware.
    """
    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    if not persistent_id:
        return None
    device = Device.from_persistent_id(persistent_id)
    if device is None or device.user_id != user.pk or not device.confirmed:
        return None
    return device


def session_passes(session, user) -> bool:
    """Whether this session of ``user`` may act as a manager: two-factor passed, or not required of them."""
    return not required(user) or verified_device(session, user) is not None


# --- the sign-in's two steps ----------------------------------------------------------

def begin(request, user, *, next_url: str) -> None:
    """Remember that ``user`` gave the right password in this session; nobody is signed in yet."""
    request.session[PENDING_KEY] = {
        "user": user.pk, "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[-1]),
        "at": time.time(), "next": next_url,
    }


def pending(request) -> dict | None:
    """The password step this session passed, if not too long ago."""
    state = request.session.get(PENDING_KEY)
    if not isinstance(state, dict):
        return None
    if time.time() - state.get("at", 0) > settings.CHAT_TWO_FACTOR_PENDING_MINUTES * 60:
        request.session.pop(PENDING_KEY, None)
        return None
    return state


def candidate(request):
    """The user who may take the code step now: signed in but not verified, or past the password step; else None."""
    user = request.user
    if user.is_authenticated:
        return None if user.is_verified() else user
    state = pending(request)
    if state is None:
        return None
    found = get_user_model()._default_manager.filter(pk=state["user"], is_active=True).first()
    if found is None:
        request.session.pop(PENDING_KEY, None)
    return found


def finish(request, user, device) -> None:
    """Sign ``user`` in (if the password step was this session's) as having passed with ``device``."""
    state = request.session.pop(PENDING_KEY, None)
    if request.user.is_authenticated and request.user.pk == user.pk:
        request.session.cycle_key()  # a new session id for the raised privilege
    else:
        auth.login(request, user, backend=(state or {}).get("backend"))
    otp_login(request, device)


def next_url(request) -> str:
    state = pending(request) or {}
    return request.POST.get("next") or request.GET.get("next") or state.get("next") or settings.LOGIN_REDIRECT_URL


def step_url(user, next_path: str = "") -> str:
    """Where ``user`` goes for the code step: verification, or the authenticator's set-up if they have none."""
    url = reverse("two-factor-verify" if has_authenticator(user) else "two-factor-setup")
    return f"{url}?{urlencode({'next': next_path})}" if next_path else url


# --- devices ----------------------------------------------------------------------------

class CodeRefused(Exception):
    """A code that signs nobody in; ``code``: "wrong" (or used already) or "throttled" (too many wrong ones)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def check_code(*, user, code: str) -> Device:
    """The device of ``user`` that takes ``code`` (used up by it), or CodeRefused.

    Six digits: the authenticator app's code; anything else: a recovery code. Only that
    kind of device is tried, and throttled (django-otp's growing delay after each wrong
    code), so a recovery code does not count as a wrong app code.
    """
    kind = TOTPDevice if len(code) == 6 and code.isdigit() else StaticDevice
    devices = list(kind.objects.filter(user=user, confirmed=True))
    if any(not device.verify_is_allowed()[0] for device in devices):
        raise CodeRefused("throttled")
    device = next((d for d in devices if verify_token(user, d.persistent_id, code)), None)
    if device is None:
        raise CodeRefused("wrong")
    return device


def authenticator_in_setup(user) -> TOTPDevice:
    """The authenticator ``user`` is setting up (not confirmed yet): the same key until they confirm one."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


@transaction.atomic
def confirm_authenticator(*, user, device: TOTPDevice, code: str) -> list[str] | None:
    """Turn ``device`` on if ``code`` is its current one: it replaces any other, with new recovery codes (returned).

    None, and nothing changed (but django-otp's throttle), when the code is not right.
    """
    if not device.verify_token(code):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return new_recovery_codes(user)


def new_recovery_codes(user) -> list[str]:
    """Replace ``user``'s recovery codes with ten new single-use ones; return them, to be shown once.

    django-otp keeps static codes as they are (not hashed), like the TOTP key itself: the database
    is what holds every secret of a sign-in (docs/security.md).
    """
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def remove_devices(user) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


# --- the admin --------------------------------------------------------------------------

class AdminTwoFactorMiddleware:
    """The admin's pages answer a staff session that has not passed two-factor sign-in with a redirect to it.

    Set-up when the user has no authenticator yet, verification otherwise; the
    admin's own log-out page stays reachable. After django-otp's OTPMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        admin_root = reverse("admin:index")
        if request.path.startswith(admin_root) and request.path != reverse("admin:logout"):
            user = request.user
            if user.is_authenticated and required(user) and not user.is_verified():
                return redirect(step_url(user, request.get_full_path()))
        return self.get_response(request)
