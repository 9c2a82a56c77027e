"""The brand's look in a real browser: the launcher and widget in the brand's colours, the expert's
initials, links in messages, and the Brand admin's live preview.

Like test_faces.py: daphne on the test database (conftest.live_server_url), Debian's chromium,
waits on visible conditions only.
"""

import re

import pytest
from playwright.sync_api import expect

from chatplatform import look
from visitors.look import LAUNCHER_ICONS
from tests.browser.test_console import manager_page
from tests.browser.test_faces import LAUNCHER, WIDGET_FRAME, ask, claim, expert_says, open_widget, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GREETING = "Hi! Our runners answer in minutes."
REL = "noopener noreferrer nofollow"


def rgb(hex_color):
    return "rgb({}, {}, {})".format(*look.parse_hex(hex_color))


def theme(**fields):
    from visitors.models import Brand

    assert Brand.objects.filter(slug="acme").update(**fields) == 1


def test_a_red_launcher_bottom_left_opens_a_widget_in_the_brand_colours(live_server_url, new_page, screenshot):
    theme(color="#c62828", launcher_position="bottom-left", launcher_icon="help", greeting=GREETING)
    page = new_page()
    page.goto(live_server_url + "/demo/")
    launcher = page.locator(LAUNCHER)
    expect(launcher).to_be_visible()
    # In the brand's red, white icon (5.62:1), at the bottom left, with the chosen icon and no "Chat" text.
    expect(launcher).to_have_css("background-color", rgb("#c62828"))
    expect(launcher).to_have_css("color", rgb("#ffffff"))
    box = launcher.bounding_box()
    assert (box["x"], box["y"] + box["height"]) == (20, 800 - 20)
    expect(launcher.locator("svg[data-icon='help'] path")).to_have_attribute("d", LAUNCHER_ICONS["help"][1])
    assert "Chat" not in launcher.evaluate("node => node.textContent")
    expect(launcher).to_have_attribute("title", GREETING)

    launcher.click()
    # The open panel is on the launcher's side.
    assert page.locator(WIDGET_FRAME).bounding_box()["x"] == 20
    widget = page.frame_locator(WIDGET_FRAME)
    expect(widget.locator("#connection")).to_have_text("Connected")
    header = widget.locator(".w-header")
    expect(header).to_have_css("background-color", rgb("#c62828"))
    expect(header).to_have_css("color", rgb("#ffffff"))
    expect(widget.locator("#greeting")).to_have_text(GREETING)
    # No logo: the brand's initials, in the brand's colour on the text colour.
    expect(widget.locator("#brand-logo")).to_have_text("AO")
    expect(widget.locator("#brand-logo")).to_have_css("color", rgb("#c62828"))
    expect(widget.get_by_role("button", name="Ask the community")).to_have_css("background-color", rgb("#c62828"))
    ask(widget, "Which shoe for muddy trails?")
    expect(widget.locator("li.msg-visitor").first).to_have_css("background-color", rgb("#c62828"))
    screenshot(page, "widget-themed")
    assert not page.errors


def test_a_light_brand_colour_gets_dark_text(live_server_url, new_page):
    theme(color="#ffd400")  # yellow: white text would be 1.5:1; near-black is 13.19:1
    page = new_page()
    widget = open_widget(page, live_server_url)
    expect(page.locator(LAUNCHER)).to_have_css("color", rgb(look.NEAR_BLACK))
    expect(page.locator(LAUNCHER)).to_have_css("background-color", rgb("#ffd400"))
    expect(widget.locator(".w-header")).to_have_css("color", rgb(look.NEAR_BLACK))
    # Buttons outlined in the brand's colour would not read on white: they are near-black.
    expect(widget.get_by_role("button", name="Close the chat")).to_have_css("color", rgb(look.NEAR_BLACK))
    box = page.locator(LAUNCHER).bounding_box()
    assert box["x"] + box["width"] == 1280 - 20  # the default side: bottom right


def test_initials_stand_in_for_a_missing_picture_and_links_are_safe(live_server_url, new_page, screenshot):
    from experts.models import ExpertProfile

    theme(color="#2e6b30", greeting=GREETING)
    # A picture that cannot load: the initials show, never a blank circle.
    ExpertProfile.objects.filter(display_name="Alice").update(avatar_url="https://127.0.0.1:9/alice.png")
    expert = new_page()
    sign_in(expert, live_server_url)
    mine = expert.locator(".dash-top .avatar-initials")
    expect(mine).to_have_text("A")
    expect(mine).to_have_css("background-color", rgb(look.avatar_color("Alice")))

    visitor = new_page()
    widget = open_widget(visitor, live_server_url)
    ask(widget, "Where do I find the size guide?")
    panel = claim(expert)
    expect(widget.locator("#expert-name")).to_have_text("Alice")
    initials = widget.locator("#expert-initials")
    expect(initials).to_be_visible()
    expect(widget.locator("#expert-initials-text")).to_have_text("A")
    expect(initials).to_have_css("background-color", rgb(look.avatar_color("Alice")))
    expect(widget.locator("#expert-avatar")).to_be_hidden()

    expert_says(panel, "Here: https://shop.acme.test/size-guide?model=ridgeline. Not <b>html</b> nor javascript:alert(1)")
    message = widget.locator("li.msg-expert .msg-text")
    expect(message).to_have_text("Here: https://shop.acme.test/size-guide?model=ridgeline. Not <b>html</b> nor javascript:alert(1)")
    link = message.locator("a")
    expect(link).to_have_count(1)
    expect(link).to_have_text("https://shop.acme.test/size-guide?model=ridgeline")
    expect(link).to_have_attribute("href", "https://shop.acme.test/size-guide?model=ridgeline")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", REL)
    assert widget.locator("li.msg b").count() == 0
    screenshot(visitor, "widget-themed-conversation")

    widget.get_by_label("Your message").fill("Thanks! Like https://example.com/a_(b) or <i>javascript:alert(2)</i>?")
    widget.get_by_role("button", name="Send").click()
    mirrored = panel.locator("li.msg-visitor .msg-text", has_text="Thanks!")
    expect(mirrored).to_have_text("Thanks! Like https://example.com/a_(b) or <i>javascript:alert(2)</i>?")
    expect(mirrored.locator("a")).to_have_attribute("href", "https://example.com/a_(b)")
    expect(mirrored.locator("a")).to_have_attribute("rel", REL)
    expect(mirrored.locator("a")).to_have_attribute("target", "_blank")
    assert panel.locator("li.msg i, li.msg b").count() == 0
    assert visitor.dialogs == [] and expert.dialogs == []
    assert not visitor.errors and not expert.errors


def test_the_brand_admin_previews_the_look_and_refuses_an_unreadable_colour(live_server_url, new_page, screenshot):
    from visitors.models import Brand

    from tests.browser.test_console import manager_page

    brand = Brand.objects.get(slug="acme")
    page = manager_page(new_page, live_server_url)  # with the two-factor code managers need
    page.goto(f"{live_server_url}/admin/visitors/brand/{brand.pk}/change/")
    preview = page.locator("#look-preview")
    contrast = preview.locator(".lp-contrast")
    expect(contrast).to_have_text("White text on this colour: contrast 8.26:1 (at least 4.5:1 is needed).")

    # The preview follows the fields before anything is saved.
    page.locator("#id_color").fill("#2e6b30")
    expect(preview.locator(".lp-header")).to_have_css("background-color", rgb("#2e6b30"))
    expect(preview.locator(".lp-launcher")).to_have_css("background-color", rgb("#2e6b30"))
    expect(contrast).to_have_text("White text on this colour: contrast 6.44:1 (at least 4.5:1 is needed).")
    page.locator("#id_color").fill("#ffd400")
    expect(preview.locator(".lp-header")).to_have_css("color", rgb(look.NEAR_BLACK))
    expect(contrast).to_contain_text("Dark text on this colour: contrast 13.19:1")
    page.get_by_label("Greeting").fill(GREETING)
    expect(preview.locator(".lp-greeting")).to_have_text(GREETING)
    page.get_by_label("Name").fill("Trail Friends")
    expect(preview.locator(".lp-name")).to_have_text("Trail Friends")
    expect(preview.locator(".lp-initials")).to_have_text("TF")
    page.get_by_label("Launcher icon").select_option("people")
    expect(preview.locator("svg[data-icon='people']")).to_be_visible()
    expect(preview.locator("svg[data-icon='forum']")).to_be_hidden()
    launcher, frame = preview.locator(".lp-launcher"), preview.locator(".lp-page")
    assert launcher.bounding_box()["x"] > frame.bounding_box()["x"] + frame.bounding_box()["width"] / 2
    page.get_by_label("Launcher position").select_option("bottom-left")
    expect(preview.locator(".lp-page")).to_have_class(re.compile(r"\blp-bottom-left\b"))
    assert launcher.bounding_box()["x"] < frame.bounding_box()["x"] + frame.bounding_box()["width"] / 2

    # Mid-grey: the preview says it will be refused, and saving is refused with the ratios.
    page.locator("#id_color").fill("#777777")
    expect(contrast).to_have_text("Refused on saving: white text on this colour has a contrast of 4.48:1, dark text "
                                  "4.22:1; at least 4.50:1 is needed (WCAG AA).")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".errorlist")).to_contain_text(
        "#777777 is too close to mid-grey for readable text: white text on it has a contrast of 4.48:1, dark text 4.22:1")
    brand.refresh_from_db()
    assert brand.color == "#1f4f8a" and brand.name == "Acme Outdoor"

    page.locator("#id_color").fill("#c62828")
    expect(contrast).to_contain_text("White text on this colour: contrast 5.62:1")
    preview.scroll_into_view_if_needed()
    box = preview.bounding_box()
    screenshot(page, "brand-admin-preview", clip={"x": box["x"] - 8, "y": box["y"] - 8, "width": box["width"] + 16,
                                                   "height": box["height"] + 16})
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    brand.refresh_from_db()
    assert (brand.color, brand.greeting, brand.launcher_icon, brand.launcher_position) == (
        "#c62828", GREETING, "people", "bottom-left")
    assert not page.errors
