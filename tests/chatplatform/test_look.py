"""The colour maths against known WCAG figures, the text colour chosen for a brand colour, and initials avatars."""

import pytest

from chatplatform import look


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # Published figures (WebAIM's contrast checker, the WCAG 2.x definition).
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#ffffff", 1.0),
        ("#777777", "#ffffff", 4.48),  # the classic "just fails AA" grey
        ("#767676", "#ffffff", 4.54),  # the lightest grey that passes on white
        ("#ff0000", "#ffffff", 4.00),
        ("#0000ff", "#ffffff", 8.59),
        ("#1f4f8a", "#ffffff", 8.26),  # the default brand colour
    ],
)
def test_contrast_ratio_matches_the_published_figures(first, second, expected):
    assert look.contrast_ratio(first, second) == pytest.approx(expected, abs=0.005)
    assert look.contrast_ratio(second, first) == pytest.approx(expected, abs=0.005)  # order does not matter


def test_relative_luminance_runs_from_black_to_white():
    assert look.relative_luminance("#000000") == 0
    assert look.relative_luminance("#ffffff") == pytest.approx(1)
    assert look.relative_luminance("#808080") == pytest.approx(0.2159, abs=0.0001)


@pytest.mark.parametrize("bad", ["", "red", "#fff", "#12345g", "#1234567", "1f4f8a", None, "#1f4f8a\x00"])
def test_only_hex_colours_are_understood(bad):
    with pytest.raises(ValueError):
        look.parse_hex(bad)


def test_a_dark_colour_gets_white_text_and_is_its_own_ink():
    palette = look.palette_for("#1F4F8A")
    assert (palette.color, palette.text, palette.ink) == ("#1f4f8a", "#ffffff", "#1f4f8a")
    assert palette.ratio == pytest.approx(8.26, abs=0.005)


def test_a_light_colour_gets_dark_text_and_dark_ink():
    # Pure red: white text is only 4.00:1, near-black 4.72:1.
    palette = look.palette_for("#ff0000")
    assert (palette.text, palette.ink) == (look.NEAR_BLACK, look.NEAR_BLACK)
    assert palette.ratio == pytest.approx(4.72, abs=0.005)
    assert look.palette_for("#ffd400").text == look.NEAR_BLACK


def test_a_colour_on_which_no_text_reads_is_refused_with_both_ratios():
    with pytest.raises(look.LowContrast) as refused:
        look.palette_for("#777777")
    assert refused.value.on_white == pytest.approx(4.478, abs=0.001)
    assert refused.value.on_dark == pytest.approx(4.22, abs=0.005)
    assert "4.48:1" in str(refused.value) and "4.22:1" in str(refused.value) and "4.50:1" in str(refused.value)


def test_a_ratio_under_aa_never_reads_as_reaching_it():
    assert look.format_ratio(4.4999) == "4.49:1"
    assert look.format_ratio(4.5) == "4.50:1"
    assert look.format_ratio(21) == "21.00:1"


def test_every_avatar_colour_carries_white_initials_at_aa():
    for color in look.AVATAR_COLORS:
        assert look.contrast_ratio(color, look.WHITE) >= look.AA_NORMAL_TEXT, color


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Alice", "A"),
        ("alice r.", "AR"),
        ("Jean-Luc Picard", "JP"),
        ("  élodie   de la Tour ", "ÉT"),
        ("李 小龍", "李小"),
        ("ßam x", "SX"),
        ("42 runners", "4R"),
        ("!!!", "!"),
        ("", "?"),
        ("   ", "?"),
        (None, "?"),
    ],
)
def test_initials_are_never_blank(name, expected):
    assert look.initials(name) == expected


def test_the_avatar_colour_is_the_same_for_the_same_name_and_varies_between_names():
    assert look.avatar_color("Alice") == look.avatar_color(" Alice ")
    colors = {look.avatar_color(name) for name in ["Alice", "Bob", "Chloé", "Dmitri", "Eve", "Farah", "Gus", "Hana"]}
    assert len(colors) >= 4
