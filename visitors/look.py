"""The brand's look in the widget and on the launcher: colours, logo or initials, icon, position, greeting.

The Brand admin sets it (visitors/forms.py refuses a colour without a readable text
colour, and re-encodes the logo here); the widget page renders it
(``widget_look``), and hands the launcher's part to loader.js in its ``ready``
message (docs/faces.md, "The brand's look").
"""

from __future__ import annotations

import hashlib
import io
import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from chatplatform import look

logger = logging.getLogger(__name__)

DEFAULT_COLOR = "#1f4f8a"

# The launcher's icons: 24 × 24 path data, drawn in the launcher's text colour. From Google's Material
# Icons (Apache License 2.0). Built-in only: an uploaded SVG could carry script into the brand's page.
LAUNCHER_ICONS = {
    "forum": ("Two speech bubbles",
              "M21 6h-2v9H6v2c0 .55.45 1 1 1h11l4 4V7c0-.55-.45-1-1-1zm-4 6V3c0-.55-.45-1-1-1H3c-.55 0-1 .45-1 "
              "1v14l4-4h10c.55 0 1-.45 1-1z"),
    "bubble": ("A speech bubble",
               "M20 2H4c-1.1 0-2 .9-2 2v18l4-4h14c1.1 0 2-.9 2-2V4c0-1.1-.9-2-2-2z"),
    "dots": ("A speech bubble with dots",
             "M20 2H4c-1.1 0-1.99.9-1.99 2L2 22l4-4h14c1.1 0 2-.9 2-2V4c0-1.1-.9-2-2-2zM9 11H7V9h2v2zm4 "
             "0h-2V9h2v2zm4 0h-2V9h2v2z"),
    "help": ("A question mark",
             "M12 2C6.48 2 2 6.48 2 12s4.48 10 10 10 10-4.48 10-10S17.52 2 12 2zm1 17h-2v-2h2v2zm2.07-7.75l-.9.92C13.45 "
             "12.9 13 13.5 13 15h-2v-.5c0-1.1.45-2.1 1.17-2.83l1.24-1.26c.37-.36.59-.86.59-1.41 0-1.1-.9-2-2-2s-2 "
             ".9-2 2H8c0-2.21 1.79-4 4-4s4 1.79 4 4c0 .88-.36 1.68-.93 2.25z"),
    "people": ("Two people",
               "M16 11c1.66 0 2.99-1.34 2.99-3S17.66 5 16 5c-1.66 0-3 1.34-3 3s1.34 3 3 3zm-8 0c1.66 0 2.99-1.34 "
               "2.99-3S9.66 5 8 5C6.34 5 5 6.34 5 8s1.34 3 3 3zm0 2c-2.33 0-7 1.17-7 3.5V19h14v-2.5c0-2.33-4.67-3.5-"
               "7-3.5zm8 0c-.29 0-.62.02-.97.05 1.16.84 1.97 1.97 1.97 3.45V19h6v-2.5c0-2.33-4.67-3.5-7-3.5z"),
}
DEFAULT_LAUNCHER_ICON = "forum"
LAUNCHER_ICON_CHOICES = [(name, label) for name, (label, _) in LAUNCHER_ICONS.items()]

# A logo is shown at most 48 px high in the header; 256 px covers dense screens and the admin's preview.
LOGO_MAX_SIDE = 256
# Decoding stops before this many pixels (a 30,000 × 30,000 "bomb" is a few kilobytes as a file).
LOGO_MAX_PIXELS = 25_000_000
LOGO_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}


class LogoRefused(ValueError):
    """An uploaded logo that is not a usable image; the message says why, for the admin form."""


def process_logo(upload, *, brand_slug: str) -> ContentFile:
    """Decode an uploaded logo and re-encode it as a PNG of at most LOGO_MAX_SIDE px.

    Re-encoding drops whatever else the file carried (metadata, a script in a polyglot); the name
    is the slug and a hash of the result, so a new logo is a new URL (served as immutable).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    limit = settings.CHAT_BRAND_LOGO_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise LogoRefused(_("The logo is %(size)s bytes; at most %(limit)s are accepted.") % {"size": f"{upload.size:,}", "limit": f"{limit:,}"})
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise LogoRefused(_("The logo is larger than %(limit)s bytes.") % {"limit": f"{limit:,}"})
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in LOGO_FORMATS:
                raise LogoRefused(_("A %(format)s file is not accepted: use PNG, JPEG, WebP or GIF.") % {"format": image.format})
            width, height = image.size
            if width * height > LOGO_MAX_PIXELS:
                raise LogoRefused(_("The logo is %(width)s × %(height)s pixels; at most %(most)s pixels are decoded.")
                                  % {"width": f"{width:,}", "height": f"{height:,}", "most": f"{LOGO_MAX_PIXELS:,}"})
            image.seek(0)  # a GIF's first frame
            image = ImageOps.exif_transpose(image).convert("RGBA")
            image.thumbnail((LOGO_MAX_SIDE, LOGO_MAX_SIDE))
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
    except LogoRefused:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as error:
        logger.info("Brand logo refused: %s", type(error).__name__)
        raise LogoRefused(_("This file is not an image we can read: use PNG, JPEG, WebP or GIF.")) from None
    png = out.getvalue()
    return ContentFile(png, name=f"{brand_slug}-{hashlib.sha256(png).hexdigest()[:16]}.png")


def forget_replaced_logo(*, previous: str, current: str) -> None:
    """Delete a brand's former logo file from storage once the save that replaced or cleared it commits."""
    if previous and previous != current:
        transaction.on_commit(lambda: default_storage.delete(previous))


def logo_url(brand) -> str | None:
    """The widget's URL of the brand's logo (visitors.views.brand_logo), or None without one."""
    if not brand.logo:
        return None
    return reverse("brand-logo", args=[brand.slug, brand.logo.name.rsplit("/", 1)[-1]])


def brand_palette(brand) -> look.Palette:
    """The brand's colours; a stored colour that fails the contrast check (set outside the admin) falls back
    to the default rather than break the widget."""
    try:
        return look.palette_for(brand.color)
    except ValueError:
        logger.warning("Brand %s has an unusable colour; the widget uses the default one.", brand.slug)
        return look.palette_for(DEFAULT_COLOR)


def widget_look(brand) -> dict:
    """What the widget page draws with, and the launcher part it hands to loader.js (docs/faces.md)."""
    palette = brand_palette(brand)
    icon = brand.launcher_icon if brand.launcher_icon in LAUNCHER_ICONS else DEFAULT_LAUNCHER_ICON
    position = brand.launcher_position if brand.launcher_position in ("bottom-right", "bottom-left") else "bottom-right"
    return {
        "color": palette.color,
        "text_color": palette.text,
        "ink": palette.ink,
        "ratio": look.format_ratio(palette.ratio),
        "logo_url": logo_url(brand),
        "initials": look.initials(brand.name),
        "greeting": brand.greeting,
        "launcher": {
            "color": palette.color,
            "text_color": palette.text,
            "icon": icon,
            "icon_path": LAUNCHER_ICONS[icon][1],
            "position": position,
            "greeting": brand.greeting,
        },
    }
