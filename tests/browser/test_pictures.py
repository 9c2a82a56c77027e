"""Pictures in a real browser: the visitor attaches a photo in the widget, the expert sees its thumbnail."""

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.attachments import pictures
from tests.browser.test_faces import start_conversation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_visitor_attaches_a_photo_and_the_expert_sees_the_thumbnail(live_server_url, new_page, screenshot):
    expert, visitor, widget, panel = start_conversation(new_page, live_server_url)
    photo = pictures.photo("JPEG", size=(640, 480), colour=(30, 120, 200))

    widget.locator("input.picture-input").set_input_files(
        {"name": "trail.jpg", "mimeType": "image/jpeg", "buffer": photo})
    mine = widget.locator("li.msg-visitor[data-seq] a.msg-picture img")
    expect(mine).to_be_visible()
    expect(widget.locator("#picture-status")).to_be_hidden()

    thumbnail = panel.locator("li.msg-visitor a.msg-picture img")
    expect(thumbnail).to_be_visible()
    # The <img> really loaded (a signed, same-origin URL the CSP allows): it has pixels.
    expert.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    assert thumbnail.evaluate("img => img.naturalWidth") == 320

    # The link opens the full picture, re-encoded: 640 x 480, without the photo's GPS.
    href = panel.locator("li.msg-visitor a.msg-picture").get_attribute("href")
    response = expert.request.get(live_server_url + href)
    assert response.ok and response.headers["x-content-type-options"] == "nosniff"
    full = Image.open(io.BytesIO(response.body()))
    assert full.size == (640, 480) and not full.getexif().get_ifd(0x8825)
    screenshot(expert, "dashboard-picture")
    assert not visitor.errors and not expert.errors


def test_a_refused_file_says_why_in_the_widget(live_server_url, new_page):
    _, visitor, widget, _ = start_conversation(new_page, live_server_url)
    widget.locator("input.picture-input").set_input_files(
        {"name": "cat.svg", "mimeType": "image/svg+xml", "buffer": pictures.SVG_WITH_SCRIPT})
    expect(widget.locator("#picture-status")).to_contain_text("Send a picture: JPEG, PNG, WebP or GIF")
    expect(widget.locator("li.msg-visitor")).to_have_count(1)  # only the question
    assert not visitor.errors


def test_the_expert_attaches_a_picture_with_the_button_and_the_visitor_sees_it(live_server_url, new_page):
    expert, visitor, widget, panel = start_conversation(new_page, live_server_url)
    with expert.expect_file_chooser() as chooser:
        panel.get_by_role("button", name="Attach a picture").click()
    chooser.value.set_files({"name": "sole.png", "mimeType": "image/png",
                             "buffer": pictures.photo("PNG", size=(300, 200), gps=False)})
    expect(panel.locator("li.msg-expert[data-seq] a.msg-picture img")).to_be_visible()
    seen = widget.locator("li.msg-expert a.msg-picture img")
    expect(seen).to_be_visible()
    assert seen.get_attribute("alt") == "Picture (300 × 200)"
    visitor.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=seen.element_handle())
    assert not visitor.errors and not expert.errors
