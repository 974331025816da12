"""Thumbnails and dimensions, and the crafted images that must get neither."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from service.files.images import THUMBNAIL_SIDE, Thumbnailer, describe

MAX_PIXELS = 40_000_000


def image_bytes(size: tuple[int, int], fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose header claims width x height."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0\0\0\0")) + chunk(b"IEND", b"")
    )


def test_an_image_gets_its_size_and_a_thumbnail_at_most_400_px() -> None:
    for fmt, kind in [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")]:
        info = describe(image_bytes((1200, 300), fmt), kind, MAX_PIXELS)
        assert info is not None and (info.width, info.height) == (1200, 300)
        with Image.open(io.BytesIO(info.thumbnail)) as thumb:
            assert thumb.format == "WEBP" and max(thumb.size) == THUMBNAIL_SIDE


def test_a_decompression_bomb_gets_nothing() -> None:
    assert describe(png_claiming(100_000, 100_000), "image/png", MAX_PIXELS) is None


def test_an_image_just_over_the_pixel_limit_gets_nothing() -> None:
    assert describe(image_bytes((100, 100), "PNG"), "image/png", 9_999) is None
    assert describe(image_bytes((100, 100), "PNG"), "image/png", 6_000) is None  # Pillow's own warning too


def test_a_truncated_jpeg_gets_nothing() -> None:
    data = image_bytes((800, 600), "JPEG")
    assert describe(data[: len(data) // 3], "image/jpeg", MAX_PIXELS) is None


def test_html_and_a_polyglot_get_nothing() -> None:
    assert describe(b"<html><script>alert(1)</script></html>", "image/png", MAX_PIXELS) is None
    assert describe(b"GIF89a<script>alert(1)</script>", "image/gif", MAX_PIXELS) is None


async def test_the_thumbnailer_runs_off_the_event_loop() -> None:
    async def png() -> bytes:
        return image_bytes((10, 20), "PNG")

    info = await Thumbnailer(MAX_PIXELS).describe(png, "image/png")
    assert info is not None and (info.width, info.height) == (10, 20)
    assert await Thumbnailer(MAX_PIXELS).describe(png, "application/pdf") is None
