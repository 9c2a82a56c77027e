"""Uploaded pictures: decoded and re-encoded with Pillow, never stored as sent (docs/security.md, "Pictures").

``clean_image`` takes the bytes a client uploaded and the type it declared,
and returns new files drawn from the decoded pixels alone: metadata (EXIF and
its GPS position, XMP, ICC, text chunks, comments) does not survive, nor does
anything hidden after or between an image's parts (a polyglot: HTML or a
script that is also a valid JPEG). Only the formats in ``DECODERS`` are tried
(never SVG, PDF, or Pillow's other decoders); the declared type must name the
format the bytes decode as; the pixel count is checked from the header before
a pixel is decoded, so a small file that says 30,000 x 30,000 is refused
without allocating its 3.6 GB. A GIF or animated WebP gives its first frame.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from chatplatform import errors
from chatplatform.errors import ChatError

try:  # HEIC/HEIF (iPhone photos): the libheif decoder pillow-heif ships in its wheels.
    from pillow_heif import register_heif_opener

    register_heif_opener(thumbnails=False)
    HEIF = True
except ImportError:  # pragma: no cover - the dependency is pinned; a build without it refuses HEIC
    HEIF = False

# Decoded format -> the declared types that may name it.
DECODERS = {
    "JPEG": ("image/jpeg", "image/jpg", "image/pjpeg"),
    "PNG": ("image/png",),
    "WEBP": ("image/webp",),
    "GIF": ("image/gif",),
}
if HEIF:
    DECODERS["HEIF"] = ("image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence")

# Declared types that say nothing of the format (a browser that does not know .heic): the decoded format decides.
UNDECLARED = ("", "application/octet-stream")

# Decoded format -> what is stored: (Pillow format, content type, extension). A GIF's first frame
# becomes a PNG (lossless, any palette); HEIF becomes JPEG, which every browser shows.
ENCODED = {
    "JPEG": ("JPEG", "image/jpeg", "jpg"),
    "PNG": ("PNG", "image/png", "png"),
    "WEBP": ("WEBP", "image/webp", "webp"),
    "GIF": ("PNG", "image/png", "png"),
    "HEIF": ("JPEG", "image/jpeg", "jpg"),
}
CONTENT_TYPES = {ext: content_type for _, content_type, ext in ENCODED.values()}


@dataclass(frozen=True)
class CleanImage:
    """The re-encoded picture and its thumbnail, ready to store."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int
    thumbnail: bytes
    thumbnail_extension: str


def _unsupported(detail: str = "Send a picture: JPEG, PNG, WebP or GIF" + (" (or HEIC)" if HEIF else "") + ".") -> ChatError:
    return ChatError(errors.UNSUPPORTED_TYPE, detail)


def clean_image(data: bytes, *, declared_type: str, max_pixels: int, thumbnail_size: int) -> CleanImage:
    """Decode ``data`` and re-encode it without metadata; raise `unsupported_type` or `too_large` (ChatError)."""
    declared = (declared_type or "").split(";", 1)[0].strip().lower()
    if declared not in UNDECLARED and not any(declared in types for types in DECODERS.values()):
        raise _unsupported()
    with warnings.catch_warnings():
        # Pillow's own bomb check warns between MAX_IMAGE_PIXELS and twice that; ours below is stricter anyway.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(DECODERS))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(max_pixels) from None
        except Exception:  # not an image Pillow may read here: SVG, HTML, PDF, a truncated header
            raise _unsupported() from None
        with image:
            fmt = image.format
            if declared not in UNDECLARED and declared not in DECODERS.get(fmt, ()):
                raise _unsupported(f"The file is a {fmt} picture, not {declared}: send it as what it is.")
            width, height = image.size
            if width < 1 or height < 1 or width * height > max_pixels:
                raise _too_many_pixels(max_pixels, width, height)
            try:
                image.seek(0)  # a GIF's or an animated WebP's first frame only
                image.load()
                pixels = ImageOps.exif_transpose(image)  # the way the camera was held, before EXIF goes
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                raise _too_many_pixels(max_pixels) from None
            except Exception:  # broken or truncated data
                raise _unsupported("The picture could not be read; it may be damaged.") from None
    return _encode(pixels, fmt, thumbnail_size)


def _too_many_pixels(max_pixels: int, width: int = 0, height: int = 0) -> ChatError:
    size = f" ({width} x {height} pixels)" if width and height else ""
    return ChatError(errors.TOO_LARGE, f"The picture is too large{size}: at most {max_pixels:,} pixels.")


def _bare(image: Image.Image, mode: str) -> Image.Image:
    """Only the pixels: a new image with an empty ``info`` (no EXIF, ICC, XMP, text chunks reach an encoder)."""
    converted = image.convert(mode) if image.mode != mode else image
    return Image.frombytes(mode, converted.size, converted.tobytes())


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def _encode(image: Image.Image, fmt: str, thumbnail_size: int) -> CleanImage:
    out_format, content_type, extension = ENCODED[fmt]
    alpha = _has_alpha(image) and out_format != "JPEG"
    bare = _bare(image, "RGBA" if alpha else "RGB")
    data = _save(bare, out_format)
    thumb = bare.copy()
    thumb.thumbnail((thumbnail_size, thumbnail_size), Image.Resampling.LANCZOS)
    # Thumbnails: JPEG when opaque (small), PNG to keep transparency.
    thumb_format, thumb_ext = ("PNG", "png") if alpha else ("JPEG", "jpg")
    return CleanImage(
        data=data, content_type=content_type, extension=extension, width=bare.width, height=bare.height,
        thumbnail=_save(thumb, thumb_format), thumbnail_extension=thumb_ext,
    )


def _save(image: Image.Image, out_format: str) -> bytes:
    buffer = io.BytesIO()
    options = {"JPEG": {"quality": 85, "optimize": True}, "PNG": {"optimize": True}, "WEBP": {"quality": 85}}[out_format]
    image.save(buffer, out_format, **options)
    return buffer.getvalue()


def check_pillow_limits() -> None:
    """Fail loudly at start-up if the installed Pillow no longer offers what ``clean_image`` relies on."""
    for name in ("DecompressionBombError", "DecompressionBombWarning"):
        if not hasattr(Image, name):
            raise ImportError(f"Pillow lacks Image.{name}; chatplatform/images.py needs it")


check_pillow_limits()
