"""Colours and names drawn for people: WCAG contrast, the text colour on a brand's colour, initials avatars.

Shared by the widget (a brand's colour, its initials when it has no logo) and the
experts' pages (an expert without an avatar gets initials on a colour drawn from
their name). static/chat/common.js draws the same initials on the same colours in
the browser (``ChatCommon.initials`` / ``ChatCommon.avatarColor``); a browser test
holds the two to the same answers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")

WHITE = "#ffffff"
# The dark text on a light brand colour: the widget's body text is near-black too.
NEAR_BLACK = "#111111"
# WCAG 2.x level AA for normal-size text (success criterion 1.4.3).
AA_NORMAL_TEXT = 4.5


class LowContrast(ValueError):
    """Neither white nor near-black text reaches AA on this colour; ``ratios`` says how close each came."""

    def __init__(self, color: str, on_white: float, on_dark: float):
        self.color = color
        self.on_white = on_white
        self.on_dark = on_dark
        super().__init__(
            gettext(
                "%(color)s is too close to mid-grey for readable text: white text on it has a contrast of "
                "%(on_white)s, dark text %(on_dark)s; at least %(needed)s is needed (WCAG AA). "
                "Choose a darker or a lighter shade."
            ) % {"color": color, "on_white": format_ratio(on_white), "on_dark": format_ratio(on_dark),
                 "needed": format_ratio(AA_NORMAL_TEXT)}
        )


def format_ratio(ratio: float) -> str:
    """``4.48:1``, two decimals; a ratio under AA never reads as reaching it (4.499 shows 4.49, not 4.50)."""
    shown = round(ratio, 2)
    if ratio < AA_NORMAL_TEXT <= shown:
        shown = AA_NORMAL_TEXT - 0.01
    return f"{shown:.2f}:1"


def parse_hex(color: str) -> tuple[int, int, int]:
    """The (r, g, b) of ``#rrggbb``; ValueError for anything else."""
    if not isinstance(color, str) or not HEX_COLOR.match(color):
        raise ValueError(f"not a #rrggbb colour: {color!r}")
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    """WCAG 2.x relative luminance of an sRGB colour, 0 (black) to 1 (white)."""
    r, g, b = (_linear(c) for c in parse_hex(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two colours, 1 to 21, whichever is lighter."""
    a, b = relative_luminance(first), relative_luminance(second)
    lighter, darker = max(a, b), min(a, b)
    return (lighter + 0.05) / (darker + 0.05)


@dataclass(frozen=True)
class Palette:
    """The colours the widget draws with for one brand colour."""

    color: str  # the brand colour, lowercased: header, launcher, primary buttons, the visitor's bubbles
    text: str  # white or near-black, whichever reads better on ``color`` (at least 4.5:1)
    ratio: float  # the contrast of ``text`` on ``color``
    # Text in the brand's colour on the white page (links, outlined buttons): the colour itself when it
    # reads on white at AA, else near-black.
    ink: str


def palette_for(color: str) -> Palette:
    """The text colour for ``color`` (the better of white and near-black); LowContrast when neither reaches AA."""
    color = color.lower()
    on_white, on_dark = contrast_ratio(color, WHITE), contrast_ratio(color, NEAR_BLACK)
    if max(on_white, on_dark) < AA_NORMAL_TEXT:
        raise LowContrast(color, on_white, on_dark)
    text, ratio = (WHITE, on_white) if on_white >= on_dark else (NEAR_BLACK, on_dark)
    ink = color if on_white >= AA_NORMAL_TEXT else NEAR_BLACK
    return Palette(color=color, text=text, ratio=ratio, ink=ink)


# --- initials avatars ----------------------------------------------------------------------------

# Backgrounds for initials in white; each is at least 4.5:1 with white (tests/chatplatform/test_look.py).
# The same list, in the same order, is AVATAR_COLORS in static/chat/common.js.
AVATAR_COLORS = (
    "#1f4f8a",  # blue
    "#8a3b12",  # rust
    "#2e6b30",  # green
    "#6a3d9a",  # purple
    "#a3214f",  # raspberry
    "#00616b",  # teal
    "#6b5400",  # olive
    "#3d4a5c",  # slate
)


def _first_sign(word: str) -> str:
    for char in word:
        if unicodedata.category(char)[0] in "LN":  # a letter or a digit in any script
            return char.upper()[0]
    return ""


def initials(name: str) -> str:
    """One or two capitals for a name: the first and last words' first letters ("Jean-Luc Picard" -> "JP").

    Never blank: a name without letters or digits gives its first character, an empty one "?".
    """
    name = unicodedata.normalize("NFC", name or "").strip()
    words = [w for w in (_first_sign(word) for word in name.split()) if w]
    if not words:
        return name[0] if name else "?"
    return words[0] if len(words) == 1 else words[0] + words[-1]


def avatar_color(name: str) -> str:
    """A colour from AVATAR_COLORS drawn from the name, the same for the same name on every page."""
    h = 0
    for char in unicodedata.normalize("NFC", (name or "").strip()):
        h = (h * 31 + ord(char)) % 4294967296
    return AVATAR_COLORS[h % len(AVATAR_COLORS)]
