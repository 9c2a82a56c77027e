"""The visitor side's pages: the widget (framed by brands) and the demo shop that embeds it."""

from csp.constants import SELF
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from chatplatform.origins import normalise_origin

from . import selectors

DEMO_BRAND = "acme"


def _brand_origins(brand) -> list[str]:
    return list(dict.fromkeys(o for o in (normalise_origin(line) for line in brand.origin_list) if o))


def _frame_ancestors(brand) -> list[str]:
    """'self' and the brand's allowed origins: only those pages may frame its widget."""
    return [SELF, *_brand_origins(brand)]


@require_GET
@xframe_options_exempt  # X-Frame-Options cannot list origins; CSP frame-ancestors below does
def widget(request, brand_slug):
    """The chat widget page a brand's loader opens in an iframe."""
    brand = selectors.get_active_brand(brand_slug)
    if brand is None:
        raise Http404("No such brand.")
    # The widget takes the host page's path and title only from these (static/widget/widget.js).
    context = {"brand": brand, "page_origins": " ".join(_brand_origins(brand))}
    response = render(request, "visitors/widget.html", context)
    # What django-csp's @csp_replace sets, computed per brand.
    response._csp_replace = {"frame-ancestors": _frame_ancestors(brand)}
    return response


@require_GET
def demo(request):
    """A fake outdoor shop that embeds the widget exactly as a brand would: one script tag."""
    return render(request, "visitors/demo.html", {"brand_slug": DEMO_BRAND})
