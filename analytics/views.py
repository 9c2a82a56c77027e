"""/admin/analytics/: a community manager's figures per brand and period, as a page or one table as CSV."""

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from . import charts, csv_export, selectors
from .forms import AnalyticsForm


@staff_member_required
@permission_required("analytics.view_analytics", raise_exception=True)
def analytics(request):
    form = AnalyticsForm.from_query(request.GET, user=request.user)
    wants_csv = request.GET.get("format") == "csv"
    table = request.GET.get("table", "")
    if wants_csv and table not in csv_export.TABLES:
        return HttpResponse(f"Unknown table. Choose one of: {', '.join(csv_export.TABLES)}.\n", status=400,
                            content_type="text/plain; charset=utf-8")
    if not form.is_valid():
        if wants_csv:
            errors = "; ".join(f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
                               for field, messages in form.errors.items())
            return HttpResponse(f"{errors}\n", status=400, content_type="text/plain; charset=utf-8")
        return _page(request, form, None, status=400)
    figures = selectors.figures(form.brand_ids(), form.cleaned_data["period"])
    if wants_csv:
        header, rows = csv_export.tables(figures)[table]
        brand = form.cleaned_data["brand"]
        data = form.cleaned_data
        filename = f"analytics-{table}-{brand.slug if brand else 'all'}-{data['start']:%Y%m%d}-{data['end']:%Y%m%d}.csv"
        return csv_export.response(header, rows, filename)
    return _page(request, form, figures)


def _page(request, form, figures, status=200):
    context = {**admin.site.each_context(request), "title": _("Analytics"), "form": form, "figures": figures}
    if figures is not None:
        query = request.GET.copy()
        query.pop("table", None)
        query["format"] = "csv"
        context.update(
            csv_query=query.urlencode(),
            csat_chart=charts.bars([(f"{score} ★", n) for score, n in figures["csat"]["distribution"]]),
            expert_chart=charts.bars([(row["expert"], row["conversations"]) for row in figures["experts"]]),
            topic_chart=charts.bars([(row["topic"] or "(no topic)", row["asked"]) for row in figures["topics"]]),
            heat_map=charts.heat_map(figures["hours"]),
            label_width=charts.LABEL * 2, bar_offset=charts.LABEL * 2 + 8, bar_max=charts.BAR_WIDTH,
        )
    return render(request, "admin/analytics/analytics.html", context, status=status)
