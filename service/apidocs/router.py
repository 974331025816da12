"""`/asyncapi.yaml`: the AsyncAPI document of the WebSocket protocol (docs/asyncapi.yaml)."""

from __future__ import annotations

from pathlib import Path

import anyio
from fastapi import APIRouter, Response

router = APIRouter(tags=["docs"])

_PACKAGE_DIR = Path(__file__).resolve().parent
# A wheel carries the document inside the package; a source checkout keeps it in docs/.
_CANDIDATES = (_PACKAGE_DIR / "asyncapi.yaml", _PACKAGE_DIR.parents[1] / "docs" / "asyncapi.yaml")
_document: bytes | None = None


def _read() -> bytes:
    for candidate in _CANDIDATES:
        if candidate.is_file():
            return candidate.read_bytes()
    raise FileNotFoundError("asyncapi.yaml is missing from this installation")


@router.get("/asyncapi.yaml", include_in_schema=False)
async def asyncapi() -> Response:
    global _document
    if _document is None:
        _document = await anyio.to_thread.run_sync(_read)  # once, off the event loop
    return Response(_document, media_type="application/yaml")
