"""Real files made in the test: photos with GPS EXIF, a PNG bomb, an SVG with script, HTML named .jpg."""

import io
import struct
import zlib

from PIL import Image

CAMERA = "PictureTestCam"
# 48°51'30" N, 2°17'40" E, as EXIF writes it.
GPS = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}


def photo(fmt="JPEG", size=(64, 48), colour=(200, 30, 30), *, gps=True, mode="RGB") -> bytes:
    image = Image.new(mode, size, colour)
    options = {}
    if gps:
        exif = Image.Exif()
        exif[0x010F] = CAMERA  # Make
        exif[0x8825] = GPS  # the GPS IFD
        options["exif"] = exif.tobytes()
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("P", (20, 10), i) for i in (1, 2)]
    frames[0].putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255] + [0] * 759)
    frames[1].putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255] + [0] * 759)
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width=30_000, height=30_000, rows=200) -> bytes:
    """A PNG whose IHDR says ``width`` x ``height`` (8-bit grey): a few KB on disk, 900 MB once decoded.

    Only the first ``rows`` rows of zeros are in the IDAT (every decoder reads the header first; a
    server that decodes before checking would allocate the whole image before noticing).
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = (b"\x00" * (width + 1)) * rows
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


SVG_WITH_SCRIPT = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                   b'<script>alert(document.cookie)</script><rect width="10" height="10"/></svg>')
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
