"""A file's name as stored and as sent back in Content-Disposition (RFC 6266)."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

MAX_NAME_BYTES = 255
DEFAULT_NAME = "file"


def safe_filename(name: str) -> str:
    """The last path part (after / or \\), without control characters, at most 255
    bytes of UTF-8 cut on a character boundary; "file" when nothing is left."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    name = name.strip()
    if name in ("", ".", ".."):
        return DEFAULT_NAME
    encoded = name.encode("utf-8")
    if len(encoded) > MAX_NAME_BYTES:
        name = encoded[:MAX_NAME_BYTES].decode("utf-8", "ignore")
    return name


def attachment(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact one as filename*."""
    fallback = "".join(c if " " <= c < "\x7f" and c not in '"\\%' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
