"""The analytics page's filter: brand (among those the manager may see), period and time zone."""

import zoneinfo
from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from moderation import scoping
from visitors.models import Brand

from .selectors import Period

PRESETS = [("7", gettext_lazy("Last 7 days")), ("30", gettext_lazy("Last 30 days")), ("90", gettext_lazy("Last 90 days")),
           ("custom", gettext_lazy("From … to …"))]
DEFAULT_PRESET = "30"
# A longer period would still be a few queries, but a year is what a manager compares.
MAX_DAYS = 366
EARLIEST = datetime(2000, 1, 1).date()


class AnalyticsForm(forms.Form):
    """Every field may be left out: no brand is every brand the manager may see, no period the last 30 days."""

    brand = forms.ModelChoiceField(queryset=Brand.objects.none(), required=False, empty_label=gettext_lazy("All my brands"),
                                   to_field_name="slug")
    preset = forms.ChoiceField(choices=PRESETS, required=False, label=gettext_lazy("Period"))
    start = forms.DateField(required=False, label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"}),
                          help_text=gettext_lazy("Included. A conversation counts in the period it started in."))
    tz = forms.ChoiceField(required=False, label=gettext_lazy("Time zone"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["brand"].queryset = scoping.limit(Brand.objects.order_by("name"), user, "pk")
        self.fields["tz"].choices = [(name, name) for name in sorted(zoneinfo.available_timezones())]
        self.fields["tz"].initial = timezone.get_current_timezone_name()
        self.fields["preset"].initial = DEFAULT_PRESET

    @classmethod
    def from_query(cls, query, *, user):
        """The form bound to the page's query, what it leaves out filled with the defaults (so they show as chosen)."""
        data = query.copy()
        if not data.get("tz"):
            data["tz"] = timezone.get_current_timezone_name()
        if not data.get("preset") and not data.get("start") and not data.get("end"):
            data["preset"] = DEFAULT_PRESET
        return cls(data, user=user)

    def clean_tz(self):
        return self.cleaned_data.get("tz") or timezone.get_current_timezone_name()

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        tz = zoneinfo.ZoneInfo(data["tz"])
        preset = data.get("preset") or ("custom" if data.get("start") or data.get("end") else DEFAULT_PRESET)
        today = timezone.localdate(timezone=tz)
        if preset == "custom":
            start, end = data.get("start"), data.get("end")
            if start is None or end is None:
                raise forms.ValidationError(_("Give both dates of the period, or choose one of the last 7, 30 or 90 days."))
            if start > end:
                raise forms.ValidationError(_("The period's start comes after its end."))
            if start < EARLIEST or end > today + timedelta(days=1):
                raise forms.ValidationError(_("Choose dates between %(earliest)s and today.") % {"earliest": f"{EARLIEST:%Y-%m-%d}"})
            if (end - start).days + 1 > MAX_DAYS:
                raise forms.ValidationError(_("Choose a period of at most %(days)s days.") % {"days": MAX_DAYS})
        else:
            start, end = today - timedelta(days=int(preset) - 1), today
        data.update(preset=preset, start=start, end=end)
        data["period"] = Period(
            start=datetime.combine(start, time.min, tzinfo=tz),
            end=datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz), tz=tz,
        )
        return data

    def brand_ids(self):
        """The brands the figures cover: the one chosen, else every brand the manager may see (None: all)."""
        brand = self.cleaned_data.get("brand")
        if brand is not None:
            return [brand.pk]
        return scoping.brand_ids_for(self.user)
