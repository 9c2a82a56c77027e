"""The visitor side's pages: the widget (framed by brands) and the demo shop that embeds it."""

from csp.constants import SELF
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from chatplatform.i18n import negotiate
from chatplatform.origins import normalise_origin

from . import followups, look, selectors
from .models import DEFAULT_WELCOME_MESSAGE

DEMO_BRAND = "acme"


def _brand_origins(brand) -> list[str]:
    return list(dict.fromkeys(o for o in (normalise_origin(line) for line in brand.origin_list) if o))


def _frame_ancestors(brand) -> list[str]:
    """'self' and the brand's allowed origins: only those pages may frame its widget."""
    return [SELF, *_brand_origins(brand)]


def widget_language(request, brand) -> str:
    """The visitor's language: the browser's preferred one among the brand's languages, else the brand's default."""
    return negotiate(request.headers.get("Accept-Language"), brand.language_list, brand.default_language)


def _render_widget(request, brand, context):
    """The widget page in the visitor's language (its socket and scripts are told it: ?lang=, /jsi18n/<lang>/)."""
    with translation.override(widget_language(request, brand)):
        # A brand that kept the default welcome gets it in the visitor's language; its own words stay as written.
        if brand.welcome_message == DEFAULT_WELCOME_MESSAGE:
            context = {**context, "welcome_message": _(DEFAULT_WELCOME_MESSAGE), "welcome_translated": True}
        response = render(request, "visitors/widget.html", {"brand": brand, **context})
    patch_vary_headers(response, ["Accept-Language"])
    return response


@require_GET
@xframe_options_exempt  # X-Frame-Options cannot list origins; CSP frame-ancestors below does
def widget(request, brand_slug):
    """The chat widget page a brand's loader opens in an iframe."""
    brand = selectors.get_active_brand(brand_slug)
    if brand is None:
        raise Http404("No such brand.")
    # The widget takes the host page's path and title only from these (static/widget/widget.js).
    context = {"page_origins": " ".join(_brand_origins(brand)), "look": look.widget_look(brand)}
    response = _render_widget(request, brand, context)
    # What django-csp's @csp_replace sets, computed per brand.
    response._csp_replace = {"frame-ancestors": _frame_ancestors(brand)}
    return response


@require_GET
def brand_logo(request, brand_slug, name):
    """The brand's logo (re-encoded PNG, visitors/look.py), for its widget and the admin's preview.

    The name carries a hash of the content, so the answer is cached for good; a former logo's name is 404.
    """
    brand = selectors.get_brand(brand_slug)  # an inactive brand's too: the admin's preview shows it
    if brand is None or not brand.logo or brand.logo.name.rsplit("/", 1)[-1] != name:
        raise Http404("No such logo.")
    try:
        handle = brand.logo.open("rb")
    except OSError:
        raise Http404("No such logo.") from None
    response = FileResponse(handle, content_type="image/png")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    # Brands' pages show it (the admin preview too); it is an image, never a document to run.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_GET
def demo(request):
    """A fake outdoor shop that embeds the widget exactly as a brand would: one script tag."""
    return render(request, "visitors/demo.html", {"brand_slug": DEMO_BRAND})


# --- pages an e-mail links to (visitors/followups.py, docs/security.md) ------------------------

REFUSED_LINK = {
    "expired": (gettext_lazy("This link has expired"), gettext_lazy(
        "Links in our e-mails work for a limited time. Your question is not lost for the "
        "experts, but this link no longer opens it.")),
    "used": (gettext_lazy("This link was already used"), gettext_lazy(
        "Each link in our e-mails opens the conversation once, in the browser that opened "
        "it first. Open the chat in that browser, or ask again.")),
    "invalid": (gettext_lazy("This link does not work"), gettext_lazy(
        "It may be incomplete (copied in part), or the conversation was erased.")),
}


def _private(response: HttpResponse) -> HttpResponse:
    """Pages of a signed link: never cached, and the link never leaves as a Referer to another site.

    same-origin, not no-referrer: under no-referrer the browser sends "Origin: null" with the form's POST,
    which Django's CSRF check refuses.
    """
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "same-origin"
    return response


def _mail_page(request, *, title, text, brand=None, form_action=None, button=None, status=200):
    ask_again = reverse("widget", args=[brand.slug]) if brand is not None and brand.is_active else None
    context = {"title": title, "text": text, "brand": brand, "form_action": form_action, "button": button,
               "ask_again": ask_again}
    return _private(render(request, "visitors/mail_page.html", context, status=status))


@require_http_methods(["GET", "POST"])
def resume(request, signed):
    """``/c/<signed>/``: GET asks to confirm (mail scanners fetch links); POST uses the link and opens the widget
    full page with the conversation, handing it the visitor's fresh token."""
    try:
        if request.method == "GET":
            link = followups.check_resume_link(signed)
            return _mail_page(request, title=_("Your conversation"), brand=link.conversation.brand,
                              text=_("Open your conversation to read the answer and reply."),
                              form_action=request.path, button=_("Open the conversation"))
        link, token = followups.use_resume_link(signed)
    except followups.LinkRefused as refused:
        title, text = REFUSED_LINK[refused.reason]
        return _mail_page(request, title=title, text=text, brand=refused.brand, status=410 if refused.brand else 404)
    brand = link.conversation.brand
    response = _render_widget(request, brand, {"resume_token": token, "look": look.widget_look(brand)})
    return _private(response)


@csrf_exempt  # RFC 8058: the mail client's one-click POST carries no CSRF token; the signed URL is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe(request, signed):
    """GET: a page that confirms; POST (the page's button or a mail client's one-click): unsubscribe."""
    try:
        if request.method == "GET":
            followups.check_unsubscribe(signed)
            return _mail_page(request, title=_("Unsubscribe"), text=_("Stop all e-mails from this community chat to your address?"),
                              form_action=request.path, button=_("Unsubscribe"))
        followups.unsubscribe(signed)
    except followups.LinkRefused:
        return _mail_page(request, title=REFUSED_LINK["invalid"][0], text=REFUSED_LINK["invalid"][1], status=404)
    return _mail_page(request, title=_("You are unsubscribed"),
                      text=_("No more e-mails from this community chat will reach your address."))
