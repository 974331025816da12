"""What a file is, from its first bytes: the client's declared type is never trusted."""

from __future__ import annotations

import puremagic

# Enough for every signature worth serving differently (images, documents, archives).
HEAD_BYTES = 64 * 1024
OCTET_STREAM = "application/octet-stream"
# The only types served inline; Pillow makes thumbnails of these.
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def detect_type(head: bytes) -> str:
    """The content type the bytes show; application/octet-stream when unknown."""
    if not head:
        return OCTET_STREAM
    try:
        found = puremagic.from_string(head, mime=True)
    except (puremagic.PureError, ValueError):
        return OCTET_STREAM
    # A type is a short token/token; anything else from the table is not sent on.
    if not found or len(found) > 127 or found.count("/") != 1 or not found.isascii():
        return OCTET_STREAM
    return found


def served_inline(content_type: str) -> bool:
    return content_type in IMAGE_TYPES
