from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.messages.writer import MessageWriter


async def _writer(request: Request) -> MessageWriter:
    writer: MessageWriter = request.app.state.writer
    return writer


# The one place that assigns seq: every entry of the stream, a REST one too.
WriterDep = Annotated[MessageWriter, Depends(_writer)]
