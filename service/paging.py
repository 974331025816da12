"""Bounds shared by paths and paging parameters: large values get a 422, never a database overflow."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_DB_INT = 2**63 - 1
MAX_SEQ = 2**31 - 1
MAX_PAGE = 200

RoomId = Annotated[int, Path(ge=1, le=MAX_DB_INT)]
UserId = Annotated[int, Path(ge=1, le=MAX_DB_INT)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Offset = Annotated[int, Query(ge=0, le=MAX_DB_INT)]
SeqCursor = Annotated[int | None, Query(ge=0, le=MAX_SEQ)]
