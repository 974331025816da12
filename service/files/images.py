"""Width, height and a thumbnail of an uploaded image, made with Pillow in a worker
thread, a few at a time: decoding holds every pixel in memory.

The pixel count is read from the header (Image.open is lazy) and checked before
anything is decoded; anything Pillow cannot read whole (a decompression bomb, a
truncated or mislabelled file, a polyglot) simply gets no thumbnail."""

from __future__ import annotations

import asyncio
import io
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from PIL import Image

from service.files.kinds import IMAGE_TYPES

log = logging.getLogger("service.files")

# The longer side of a thumbnail; thumbnails are WebP (small, and every current browser shows it).
THUMBNAIL_SIDE = 400
THUMBNAIL_TYPE = "image/webp"
_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
# Pillow's warning for an image over MAX_IMAGE_PIXELS is a refusal here, never a log line.
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


@dataclass(frozen=True, slots=True)
class ImageInfo:
    width: int
    height: int
    thumbnail: bytes


def describe(data: bytes, content_type: str, max_pixels: int) -> ImageInfo | None:
    """The image's size and thumbnail, or None when it is not one to decode."""
    if content_type not in IMAGE_TYPES:
        return None
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(io.BytesIO(data), formats=[_FORMATS[content_type]]) as image:
            width, height = image.size
            if width < 1 or height < 1 or width * height > max_pixels:
                return None
            image.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))  # JPEG decodes at a fraction of its size
            image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            small = image if image.mode in ("RGB", "RGBA") else image.convert("RGBA")
            out = io.BytesIO()
            small.save(out, "WEBP", quality=80)
    except (Exception, Image.DecompressionBombWarning) as exc:  # noqa: BLE001 - any undecodable image is "no thumbnail"
        log.info("no thumbnail for a %s: %s: %s", content_type, type(exc).__name__, exc)
        return None
    return ImageInfo(width, height, out.getvalue())


class Thumbnailer:
    """describe() off the event loop, at most `concurrency` at once."""

    def __init__(self, max_pixels: int, concurrency: int = 2) -> None:
        self._max_pixels = max_pixels
        self._slots = asyncio.Semaphore(concurrency)

    async def describe(self, read: Callable[[], Awaitable[bytes]], content_type: str) -> ImageInfo | None:
        """`read()` gives the image's bytes, read only once a slot is free."""
        if content_type not in IMAGE_TYPES:
            return None
        async with self._slots:
            data = await read()
            return await asyncio.to_thread(describe, data, content_type, self._max_pixels)
