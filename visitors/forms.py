"""The Brand admin's form: the look's checks (a readable colour, a logo that is really an image)."""

from django import forms
from django.conf import settings
from django.contrib.admin.widgets import AdminFileWidget
from django.utils.translation import gettext as _
from django.core.files.uploadedfile import UploadedFile

from chatplatform import look as colors

from . import look
from .models import Brand


class LogoField(forms.ImageField):
    """Django's image field, refusing an oversized file before Pillow reads it."""

    def to_python(self, data):
        limit = settings.CHAT_BRAND_LOGO_MAX_BYTES
        if data is not None and (getattr(data, "size", None) or 0) > limit:
            raise forms.ValidationError(_("The logo is %(size)s bytes; at most %(limit)s are accepted.")
                                        % {"size": f"{data.size:,}", "limit": f"{limit:,}"}, code="too_large")
        return super().to_python(data)


class _ShownLogo(str):
    url = ""


class LogoInput(AdminFileWidget):
    """The admin's file input, its "Currently:" link pointing at the URL the widget uses (the storage's own is not served)."""

    url = None

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if context["widget"]["is_initial"] and self.url:
            shown = _ShownLogo(str(value))
            shown.url = self.url
            context["widget"]["value"] = shown
        return context


class BrandForm(forms.ModelForm):
    """Every Brand field; the colour is refused with its contrast ratios when no text colour reads on it."""

    class Meta:
        model = Brand
        fields = "__all__"
        field_classes = {"logo": LogoField}
        widgets = {
            # The browser's colour picker; it always answers #rrggbb.
            "color": forms.TextInput(attrs={"type": "color", "class": "look-color"}),
            "logo": LogoInput,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.logo and isinstance(self.fields["logo"].widget, LogoInput):
            self.fields["logo"].widget.url = look.logo_url(self.instance)

    def clean_color(self):
        color = (self.cleaned_data.get("color") or "").strip().lower()
        if not colors.HEX_COLOR.match(color):
            raise forms.ValidationError(_("Give the colour as #rrggbb, e.g. #1f4f8a."), code="invalid")
        try:
            colors.palette_for(color)
        except colors.LowContrast as refused:
            raise forms.ValidationError(str(refused), code="low_contrast") from None
        return color

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if isinstance(logo, UploadedFile):  # a new upload (else: the current file, False to clear, or None)
            slug = self.cleaned_data.get("slug") or (self.instance.slug if self.instance.pk else "") or "brand"
            try:
                return look.process_logo(logo, brand_slug=slug)
            except look.LogoRefused as refused:
                raise forms.ValidationError(str(refused), code="invalid_logo") from None
        return logo
