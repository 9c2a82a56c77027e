"""The brand's look: the Brand admin's checks (contrast, logo), the widget page that applies it, the logo's URL."""

import io
import re
import struct
import zlib

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image

from chatplatform import look as colors
from tests.support import sign_in
from visitors import look
from visitors.forms import BrandForm
from visitors.models import Brand
from tests.support import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def manager_client(client, django_user_model):
    call_command("create_community_manager", "carol", password="pw-carol-123", stdout=io.StringIO())
    sign_in(client, django_user_model.objects.get(username="carol"))
    return client


def form_data(brand, **changes):
    """The Brand form as the admin would post it unchanged, with ``changes`` (fields other work adds included)."""
    form = BrandForm(instance=brand)
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if isinstance(field, forms.FileField):
            continue
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
            continue
        if isinstance(value, (list, tuple)):
            data[name] = [str(getattr(v, "pk", v)) for v in value]
        else:
            data[name] = "" if value is None else value
    data.update(changes)
    return data


def png(width=64, height=32, *, exif_gps=False, fmt="PNG") -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), (200, 30, 30))
    options = {}
    if exif_gps:
        exif = Image.Exif()
        exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0)}  # GPSInfo: where the photo was taken
        options["exif"] = exif.tobytes()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def png_header_only(width, height) -> bytes:
    """A PNG that claims width × height pixels in a few bytes (a decompression bomb's header)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def upload(content, name="logo.png", content_type="image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- the admin refuses what would not read ------------------------------------------------------------


def test_the_admin_refuses_a_low_contrast_colour_with_the_ratios(manager_client, brand):
    page = manager_client.post(f"/admin/visitors/brand/{brand.pk}/change/", form_data(brand, color="#777777"))
    assert page.status_code == 200  # the form again, with the reason
    text = page.content.decode()
    assert "#777777 is too close to mid-grey" in text
    assert "white text on it has a contrast of 4.48:1, dark text 4.22:1" in text
    assert "at least 4.50:1 is needed (WCAG AA)" in text
    brand.refresh_from_db()
    assert brand.color == "#1f4f8a"


def test_the_admin_takes_a_readable_colour_and_the_rest_of_the_look(manager_client, brand):
    data = form_data(brand, color="#C62828", launcher_icon="help", launcher_position="bottom-left", greeting="Hi! Ask our runners.")
    response = manager_client.post(f"/admin/visitors/brand/{brand.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    brand.refresh_from_db()
    assert (brand.color, brand.launcher_icon, brand.launcher_position, brand.greeting) == (
        "#c62828", "help", "bottom-left", "Hi! Ask our runners.")


@pytest.mark.parametrize("bad", ["red", "#fff", "#12345g", "#1f4f8a\x00", "javascript:alert(1)"])
def test_a_colour_that_is_not_hex_is_refused(brand, bad):
    form = BrandForm(form_data(brand, color=bad), instance=brand)
    assert not form.is_valid()
    errors = str(form.errors["color"])
    assert "#rrggbb" in errors or ("at most 7 characters" in errors and len(bad) > 7)


def test_an_unknown_launcher_icon_or_position_is_refused(brand):
    form = BrandForm(form_data(brand, launcher_icon="<svg onload=alert(1)>", launcher_position="top-left"), instance=brand)
    assert not form.is_valid()
    assert set(form.errors) == {"launcher_icon", "launcher_position"}


def test_the_admin_page_shows_the_preview(manager_client, brand):
    Brand.objects.filter(pk=brand.pk).update(color="#2e6b30", greeting="Hello <b>there</b>")
    page = manager_client.get(f"/admin/visitors/brand/{brand.pk}/change/").content.decode()
    assert 'id="look-preview"' in page and "widget/brand-preview.js" in page
    assert "background: #2e6b30; color: #ffffff" in page
    assert "Hello &lt;b&gt;there&lt;/b&gt;" in page  # escaped
    assert "White text on this colour: contrast <span class=\"lp-ratio\">6.44:1</span>" in page
    assert page.count('class="lp-icon"') == len(look.LAUNCHER_ICONS)


# --- the logo ----------------------------------------------------------------------------------------------------


def test_a_logo_is_re_encoded_small_without_its_metadata(brand, media):
    form = BrandForm(form_data(brand), {"logo": upload(png(1200, 600, exif_gps=True, fmt="JPEG"), "logo.jpg", "image/jpeg")},
                     instance=brand)
    assert form.is_valid(), form.errors
    form.save()
    brand.refresh_from_db()
    assert re.fullmatch(r"brand-logos/acme-[0-9a-f]{16}\.png", brand.logo.name)
    with Image.open(media / brand.logo.name) as stored:
        assert (stored.format, stored.size) == ("PNG", (256, 128))
        assert not stored.getexif() and "exif" not in stored.info


@pytest.mark.parametrize(
    ("content", "name", "content_type", "reason"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "logo.svg", "image/svg+xml", "valid image"),
        (b"<!doctype html><script>alert(1)</script>", "logo.png", "image/png", "valid image"),
        (b"%PDF-1.4\n", "logo.png", "image/png", "valid image"),
        (png_header_only(30_000, 30_000), "bomb.png", "image/png", "valid image"),
        (png_header_only(6_000, 6_000), "big.png", "image/png", "at most 25,000,000 pixels"),
        (png() + b"\x00" * 3000, "huge.png", "image/png", "at most 2,000 are accepted"),
        (png(fmt="BMP"), "logo.bmp", "image/bmp", "not accepted: use PNG, JPEG, WebP or GIF"),
    ],
)
def test_anything_but_a_modest_raster_image_is_refused_and_nothing_is_stored(brand, media, settings, content, name,
                                                                            content_type, reason):
    settings.CHAT_BRAND_LOGO_MAX_BYTES = 2000 if name == "huge.png" else 2 * 1024 * 1024
    form = BrandForm(form_data(brand), {"logo": upload(content, name, content_type)}, instance=brand)
    assert not form.is_valid()
    assert reason in str(form.errors["logo"])
    assert not (media / "brand-logos").exists()


def test_the_widget_shows_the_logo_served_with_its_own_immutable_url(client, brand, media):
    form = BrandForm(form_data(brand), {"logo": upload(png())}, instance=brand)
    assert form.is_valid(), form.errors
    form.save()
    brand.refresh_from_db()
    url = look.logo_url(brand)
    assert url == f"/widget/acme/logo/{brand.logo.name.rsplit('/', 1)[1]}"
    page = client.get("/widget/acme/").content.decode()
    assert f'<img id="brand-logo" class="w-logo" src="{url}"' in page
    logo = client.get(url)
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png"
    assert logo["Cache-Control"] == "public, max-age=31536000, immutable"
    assert logo["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in logo["Content-Security-Policy"]
    assert b"".join(logo.streaming_content).startswith(b"\x89PNG")
    # Another name, another brand's slug, a path: not found.
    for other in ["/widget/acme/logo/acme-0000000000000000.png", "/widget/globex/logo/" + url.rsplit("/", 1)[1],
                  "/widget/acme/logo/..%2f..%2fsettings.py"]:
        assert client.get(other).status_code == 404, other


def test_replacing_or_clearing_the_logo_deletes_the_former_file(manager_client, brand, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(f"/admin/visitors/brand/{brand.pk}/change/", {**form_data(brand), "logo": upload(png(40, 40))})
    brand.refresh_from_db()
    first = media / brand.logo.name
    assert first.exists()
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(f"/admin/visitors/brand/{brand.pk}/change/", {**form_data(brand), "logo": upload(png(50, 50))})
    brand.refresh_from_db()
    second = media / brand.logo.name
    assert second.exists() and not first.exists()
    old_url = "/widget/acme/logo/" + first.name
    assert manager_client.get(old_url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(f"/admin/visitors/brand/{brand.pk}/change/", {**form_data(brand), "logo-clear": "on"})
    brand.refresh_from_db()
    assert not brand.logo and not second.exists()
    assert '<span id="brand-logo" class="w-logo w-initials" aria-hidden="true">AO</span>' in manager_client.get("/widget/acme/").content.decode()


# --- the widget page applies the look ------------------------------------------------------------------------


def test_the_widget_page_carries_the_brand_look(client, brand):
    Brand.objects.filter(pk=brand.pk).update(color="#ff0000", launcher_icon="people", launcher_position="bottom-left",
                                             greeting="Hi! Ask our runners.")
    page = client.get("/widget/acme/").content.decode()
    # Pure red reads best with near-black text (4.72:1; white is only 4.00:1), and as ink on white it would not read.
    assert 'style="--brand: #ff0000; --brand-text: #111111; --brand-ink: #111111"' in page
    assert '<p id="greeting" class="w-greeting">Hi! Ask our runners.</p>' in page
    assert '<span id="brand-logo" class="w-logo w-initials" aria-hidden="true">AO</span>' in page
    launcher = re.search(r'<script id="launcher-look" type="application/json">(.*?)</script>', page).group(1)
    import json

    assert json.loads(launcher) == {
        "color": "#ff0000", "text_color": "#111111", "icon": "people", "icon_path": look.LAUNCHER_ICONS["people"][1],
        "position": "bottom-left", "greeting": "Hi! Ask our runners.",
    }


def test_a_stored_colour_that_fails_the_check_falls_back_to_the_default(client, brand):
    # Set behind the admin's back (a shell, a data migration): the widget still works, in the default colour.
    Brand.objects.filter(pk=brand.pk).update(color="#777777", launcher_icon="gone")
    response = client.get("/widget/acme/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "--brand: #1f4f8a; --brand-text: #ffffff" in page
    assert '"icon": "forum"' in page


def test_the_default_look_has_an_icon_not_a_chat_text(client, brand):
    assert brand.color == "#1f4f8a" and brand.launcher_icon == "forum" and brand.launcher_position == "bottom-right"
    page = client.get("/widget/acme/").content.decode()
    assert '"icon_path": "' + look.LAUNCHER_ICONS["forum"][1] + '"' in page
    assert 'id="greeting"' not in page  # no greeting set: no empty line


def test_every_launcher_icon_is_plain_path_data():
    # loader.js draws it with setAttribute("d"): path commands and numbers only, as the loader checks too.
    for name, (label, path) in look.LAUNCHER_ICONS.items():
        assert re.fullmatch(r"[MmLlHhVvCcSsQqTtAaZz0-9.,\s-]+", path), name
        assert label


def test_brand_palette_is_what_the_contrast_check_chose(brand):
    Brand.objects.filter(pk=brand.pk).update(color="#ffd400")
    brand.refresh_from_db()
    palette = look.brand_palette(brand)
    assert palette.text == colors.NEAR_BLACK and palette.ratio >= colors.AA_NORMAL_TEXT


# --- links in transcripts rendered by the server ------------------------------------------------------------

LINKED = "Try https://shop.acme.test/ridgeline?size=42. Not <b>this</b> nor javascript:alert(1)"
LINK_HTML = ('<a href="https://shop.acme.test/ridgeline?size=42" rel="noopener noreferrer nofollow" target="_blank">'
             "https://shop.acme.test/ridgeline?size=42</a>. Not &lt;b&gt;this&lt;/b&gt; nor javascript:alert(1)")


@pytest.fixture
def linked_conversation(brand, alice):
    from django.utils import timezone

    from experts import services as expert_services
    from visitors import services as visitor_services

    visitor, _ = visitor_services.open_visitor_session(brand=brand, token=None, nickname="Sam", address_hash="")
    visitor.email, visitor.email_consented_at = "sam@example.com", timezone.now()
    visitor.save(update_fields=["email", "email_consented_at"])
    conversation = visitor_services.start_conversation(visitor=visitor, text=LINKED, client_id="c1")
    expert_services.claim_conversation(expert=alice, conversation_id=conversation.pk)
    visitor_services.end_conversation(conversation_id=conversation.pk, ended_by="visitor")
    return conversation


def test_links_are_safe_links_in_the_admin_transcript(manager_client, linked_conversation):
    page = manager_client.get(f"/admin/visitors/conversation/{linked_conversation.pk}/change/").content.decode()
    assert LINK_HTML in page
    assert "<b>this</b>" not in page


def test_links_are_safe_links_in_the_experts_past_conversations(client, alice, linked_conversation):
    sign_in(client, alice.user)
    page = client.get("/dashboard/past/").content.decode()
    assert LINK_HTML in page


def test_links_are_safe_links_in_the_emailed_transcript(linked_conversation, mailoutbox):
    from visitors import followups

    assert followups.send_transcript(conversation_id=linked_conversation.pk)
    html = mailoutbox[0].alternatives[0][0]
    assert LINK_HTML in html
    assert LINKED in mailoutbox[0].body  # the plain-text part keeps the text as written


def test_the_admin_links_the_current_logo_to_its_served_url(manager_client, brand, media):
    manager_client.post(f"/admin/visitors/brand/{brand.pk}/change/", {**form_data(brand), "logo": upload(png())})
    brand.refresh_from_db()
    url = look.logo_url(brand)
    page = manager_client.get(f"/admin/visitors/brand/{brand.pk}/change/").content.decode()
    assert f'<a href="{url}">{brand.logo.name}</a>' in page
    assert f'class="lp-logo" alt="" src="{url}"' in page  # the preview shows it
    # An inactive brand's logo still shows in its preview.
    Brand.objects.filter(pk=brand.pk).update(is_active=False)
    assert manager_client.get(url).status_code == 200
