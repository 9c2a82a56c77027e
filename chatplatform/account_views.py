"""The account pages: sign-in with its code step, the authenticator's set-up, password reset.

Thin: forms parse, chatplatform/mfa.py decides and records, Django's auth views do the rest.
"""

import hashlib
import hmac

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp.plugins.otp_static.models import StaticDevice

from . import mfa
from .account_forms import CodeForm, QueuedPasswordResetForm
from .addresses import address_key, request_address_key


def _safe_next(request, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return url
    return settings.LOGIN_REDIRECT_URL


# --- sign-in ----------------------------------------------------------------------------

class SignInView(auth_views.LoginView):
    """Django's sign-in page; a user with a second step goes on to it instead of being signed in."""

    def form_valid(self, form):
        user = form.get_user()
        if not mfa.second_step_needed(user):
            return super().form_valid(form)
        mfa.begin(self.request, user, next_url=self.get_success_url())
        return redirect(mfa.step_url(user))


def admin_sign_in(request):
    """The admin's own sign-in page (its look, staff accounts only), with the code step after it.

    AdminSite.login, step for step, on SignInView instead of Django's LoginView, which would
    sign a manager in before the code.
    """
    from django.contrib import admin
    from django.contrib.admin.forms import AdminAuthenticationForm
    from django.contrib.auth import REDIRECT_FIELD_NAME

    if request.method == "GET" and admin.site.has_permission(request):
        return redirect("admin:index")
    context = {**admin.site.each_context(request), "title": _("Log in"), "subtitle": None,
               "app_path": request.get_full_path(), "username": request.user.get_username()}
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        context[REDIRECT_FIELD_NAME] = reverse("admin:index")
    request.current_app = admin.site.name
    return SignInView.as_view(extra_context=context, authentication_form=AdminAuthenticationForm,
                              template_name="admin/login.html")(request)


def _no_candidate(request):
    messages.info(request, _("Sign in first: your password, then your code."))
    return redirect("login")


@sensitive_post_parameters("code")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    """The code step: a code from the authenticator app, or one of the recovery codes."""
    if request.user.is_authenticated and request.user.is_verified():  # passed already (a second tab, the back button)
        return redirect(_safe_next(request, mfa.next_url(request)))
    user = mfa.candidate(request)
    if user is None:
        return _no_candidate(request)
    if not mfa.has_authenticator(user):
        return redirect(mfa.step_url(user, request.GET.get("next", "")))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = mfa.check_code(user=user, code=form.cleaned_data["code"])
        except mfa.CodeRefused as exc:
            if exc.code == "throttled":
                form.add_error(None, _("Too many wrong codes: wait a minute, then try again."))
            else:
                form.add_error("code", _("That code is not right (or it was used already). Try the next one."))
        else:
            target = _safe_next(request, mfa.next_url(request))
            mfa.finish(request, user, device)
            if isinstance(device, StaticDevice):
                messages.warning(request, _("You signed in with a recovery code; %(left)d left. Make new ones "
                                            "from your two-factor page if you run short.")
                                 % {"left": mfa.recovery_codes_left(user)})
            return redirect(target)
    return render(request, "registration/two_factor_verify.html", {
        "form": form, "next": request.GET.get("next", ""), "user_name": user.get_username(),
    })


def _qr_svg(url: str) -> str:
    # Inline SVG, drawn here: no script, no image service, and the CSP's img-src is not widened.
    return segno.make(url, error="m").svg_inline(scale=5, dark="#1f2937", light="#ffffff")


def _secret_groups(device) -> str:
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


@sensitive_post_parameters("code")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    """Set up an authenticator app: scan, type its code, receive the recovery codes.

    For a signed-in user, or one past the password step who has no authenticator yet (a
    manager's first sign-in); someone with a password only may never replace an existing one.
    """
    user = request.user if request.user.is_authenticated else mfa.candidate(request)
    if user is None:
        return _no_candidate(request)
    verified = request.user.is_authenticated and request.user.is_verified()
    if mfa.has_authenticator(user) and not verified:
        return redirect(mfa.step_url(user, request.GET.get("next", "")))
    device = mfa.authenticator_in_setup(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = mfa.confirm_authenticator(user=user, device=device, code=form.cleaned_data["code"])
        if codes is not None:
            target = _safe_next(request, mfa.next_url(request))
            mfa.finish(request, user, device)
            return render(request, "registration/two_factor_codes.html", {"codes": codes, "next": target, "first": True})
        form.add_error("code", _("That code is not right. Check the time on your phone, then type the newest code."))
    return render(request, "registration/two_factor_setup.html", {
        "form": form, "qr": _qr_svg(device.config_url), "secret": _secret_groups(device),
        "next": request.GET.get("next", ""), "required": mfa.required(user),
    })


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_manage(request):
    """The signed-in user's two-factor page: on or off, new recovery codes, turning it off (when not required)."""
    user = request.user
    enabled = mfa.has_authenticator(user)
    if request.method == "POST":
        if enabled and not user.is_verified():  # an older session: the code first
            return redirect(mfa.step_url(user, reverse("two-factor")))
        action = request.POST.get("action")
        if action == "codes" and enabled:
            return render(request, "registration/two_factor_codes.html", {
                "codes": mfa.new_recovery_codes(user), "next": reverse("two-factor"), "first": False,
            })
        if action == "disable" and enabled:
            if mfa.required(user):
                messages.error(request, _("Two-factor sign-in is required for your account: it cannot be turned off."))
            else:
                mfa.remove_devices(user)
                messages.success(request, _("Two-factor sign-in is off. Your password alone now signs you in."))
            return redirect("two-factor")
        messages.error(request, _("Nothing was changed."))
        return redirect("two-factor")
    return render(request, "registration/two_factor_manage.html", {
        "enabled": enabled, "required": mfa.required(user), "codes_left": mfa.recovery_codes_left(user) if enabled else 0,
    })


# --- password reset ---------------------------------------------------------------------

def _over_limit(key: str, limit: int) -> bool:
    """Count one more request under ``key`` for the hour; True past ``limit`` (fixed one-hour window, in the cache)."""
    cache.add(key, 0, timeout=3600)
    try:
        return cache.incr(key) > limit
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
        return 1 > limit


def _email_key(email: str) -> str:
    # Keyed like the addresses: the cache holds no e-mail address.
    return hmac.new(address_key(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request, throttled per address and per e-mail entered, its mail queued.

    The answer is the same page whether an account uses the address or not, and the
    throttle counts every request alike, so neither tells who has an account.
    """

    form_class = QueuedPasswordResetForm
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        by_address = _over_limit(f"pwreset:a:{request_address_key(self.request)}", settings.CHAT_PASSWORD_RESET_PER_ADDRESS)
        by_email = _over_limit(f"pwreset:e:{_email_key(form.cleaned_data['email'])}", settings.CHAT_PASSWORD_RESET_PER_EMAIL)
        if by_address or by_email:
            return render(self.request, "registration/password_reset_throttled.html", status=429)
        form.save()
        return redirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("password_reset_complete")
