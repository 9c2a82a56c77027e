"""chatplatform/images.py: every picture decoded and re-encoded, nothing of the sent file kept."""

import io

import pytest
from PIL import Image

from chatplatform import images
from chatplatform.errors import ChatError
from tests.attachments import pictures

LIMITS = dict(max_pixels=50_000_000, thumbnail_size=32)


def clean(data, declared="image/jpeg", **limits):
    return images.clean_image(data, declared_type=declared, **{**LIMITS, **limits})


def test_gps_and_camera_metadata_do_not_survive():
    sent = pictures.photo("JPEG")
    assert Image.open(io.BytesIO(sent)).getexif().get_ifd(0x8825), "the test photo must carry GPS to begin with"
    stored = clean(sent)
    reopened = Image.open(io.BytesIO(stored.data))
    assert not reopened.getexif() and not reopened.getexif().get_ifd(0x8825)
    assert pictures.CAMERA.encode() not in stored.data and pictures.CAMERA.encode() not in stored.thumbnail
    assert (stored.width, stored.height, stored.content_type) == (64, 48, "image/jpeg")
    assert max(Image.open(io.BytesIO(stored.thumbnail)).size) == 32


def test_a_polyglot_loses_what_was_hidden_after_the_picture():
    stored = clean(pictures.photo("JPEG", gps=False) + pictures.HTML)
    assert b"<script>" not in stored.data and b"<script>" not in stored.thumbnail


@pytest.mark.parametrize("data, declared", [
    (pictures.SVG_WITH_SCRIPT, "image/svg+xml"),
    (pictures.SVG_WITH_SCRIPT, "image/png"),
    (pictures.HTML, "image/jpeg"),
    (pictures.HTML, "text/html"),
    (pictures.PDF, "application/pdf"),
    (pictures.PDF, "image/png"),
    (b"", "image/png"),
])
def test_anything_but_a_picture_is_an_unsupported_type(data, declared):
    with pytest.raises(ChatError) as refused:
        clean(data, declared)
    assert refused.value.code == "unsupported_type"


def test_the_declared_type_must_be_the_decoded_format():
    with pytest.raises(ChatError) as refused:
        clean(pictures.photo("PNG"), "image/jpeg")
    assert refused.value.code == "unsupported_type" and "PNG" in refused.value.detail


def test_a_decompression_bomb_is_refused_from_its_header():
    bomb = pictures.png_bomb()
    assert len(bomb) < 100_000  # small on disk: 900 MB once decoded
    with pytest.raises(ChatError) as refused:
        clean(bomb, "image/png")
    assert refused.value.code == "too_large"


def test_a_bomb_under_pillows_own_threshold_meets_ours():
    # 64 MP: Pillow alone (MAX_IMAGE_PIXELS ~89 MP) would decode it; our 50 MP limit refuses it first.
    with pytest.raises(ChatError) as refused:
        clean(pictures.png_bomb(8000, 8000, rows=10), "image/png")
    assert refused.value.code == "too_large" and "8000 x 8000" in refused.value.detail


def test_the_pixel_limit_is_a_setting():
    with pytest.raises(ChatError) as refused:
        clean(pictures.photo("PNG", size=(100, 100)), "image/png", max_pixels=9_999)
    assert refused.value.code == "too_large"


def test_a_gif_gives_its_first_frame_as_a_still_png():
    stored = clean(pictures.animated_gif(), "image/gif")
    image = Image.open(io.BytesIO(stored.data))
    assert stored.content_type == "image/png" and image.format == "PNG" and getattr(image, "n_frames", 1) == 1
    assert image.convert("RGB").getpixel((0, 0)) == (255, 0, 0)  # the first frame's colour, not the second's


def test_webp_keeps_its_transparency():
    stored = clean(pictures.photo("WEBP", mode="RGBA", colour=(0, 0, 255, 0), gps=False), "image/webp")
    image = Image.open(io.BytesIO(stored.data))
    assert stored.content_type == "image/webp" and image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0


def test_heic_is_decoded_and_stored_as_jpeg():
    assert images.HEIF
    image = Image.new("RGB", (40, 30), (10, 200, 10))
    buffer = io.BytesIO()
    image.save(buffer, "HEIF", quality=90)
    stored = clean(buffer.getvalue(), "image/heic")
    assert stored.content_type == "image/jpeg" and (stored.width, stored.height) == (40, 30)
    assert Image.open(io.BytesIO(stored.data)).format == "JPEG"


def test_an_undeclared_type_is_decided_by_the_decoded_format():
    assert clean(pictures.photo("PNG"), "application/octet-stream").content_type == "image/png"


def test_a_truncated_picture_is_refused():
    with pytest.raises(ChatError) as refused:
        clean(pictures.photo("PNG", size=(300, 300))[:200], "image/png")
    assert refused.value.code == "unsupported_type"


def test_the_pillow_this_relies_on_is_the_pinned_one():
    # pyproject.toml pins Pillow exactly: a new version may change the bomb checks or the plugins.
    import PIL

    assert PIL.__version__ == "13.0.0"
    assert set(images.DECODERS) == {"JPEG", "PNG", "WEBP", "GIF", "HEIF"}
