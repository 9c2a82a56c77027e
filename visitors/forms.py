"""The Brand admin's form: the look's checks (a readable colour, a logo that is really an image)."""

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from chatplatform import look as colors

from . import look
from .models import Brand


class LogoField(forms.ImageField):
    """Django's image field, refusing an oversized file before Pillow reads it."""

    def to_python(self, data):
        limit = settings.CHAT_BRAND_LOGO_MAX_BYTES
        if data is not None and (getattr(data, "size", None) or 0) > limit:
            raise forms.ValidationError(f"The logo is {data.size:,} bytes; at most {limit:,} are accepted.", code="too_large")
        return super().to_python(data)


class BrandForm(forms.ModelForm):
    """Every Brand field; the colour is refused with its contrast ratios when no text colour reads on it."""

    class Meta:
        model = Brand
        fields = "__all__"
        field_classes = {"logo": LogoField}
        widgets = {
            # The browser's colour picker; it always answers #rrggbb.
            "color": forms.TextInput(attrs={"type": "color", "class": "look-color"}),
        }

    def clean_color(self):
        color = (self.cleaned_data.get("color") or "").strip().lower()
        if not colors.HEX_COLOR.match(color):
            raise forms.ValidationError("Give the colour as #rrggbb, e.g. #1f4f8a.", code="invalid")
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
