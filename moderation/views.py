"""The moderation overview page, inside the admin."""

from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from . import scoping, selectors
from .models import Alert

CHART_HEIGHT = 100


def _bars(series):
    peak = max([n for _, n in series] + [1])
    return [
        {"day": day, "count": n, "height": round(CHART_HEIGHT * n / peak), "x": i * 12, "y": CHART_HEIGHT - round(CHART_HEIGHT * n / peak)}
        for i, (day, n) in enumerate(series)
    ]


@staff_member_required
@permission_required("moderation.moderate", raise_exception=True)
def overview(request):
    data = selectors.overview(scoping.brand_ids_for(request.user))
    context = {
        "alert_kinds": dict(Alert.Kind.choices),
        # The reader's zone (chatplatform/i18n.py TimeZoneMiddleware), as the server-rendered rows use.
        "time_zone": timezone.get_current_timezone_name(),
        **admin.site.each_context(request),
        "title": _("Moderation overview"),
        **data,
        "block_bars": _bars(data["blocks_per_day"]),
        "report_bars": _bars(data["reports_per_day"]),
        "chart_height": CHART_HEIGHT,
        "chart_width": 12 * len(data["blocks_per_day"]),
    }
    return render(request, "admin/moderation/overview.html", context)
