"""The `file` part of a multipart/form-data body, read as it arrives.

python-multipart's push parser is fed the request's chunks one by one; its
callbacks note what each chunk held, and the part's bytes are handed on before
the next chunk is read, so nothing holds the body whole (UploadFile would spool
it first). Everything but the file's bytes (boundaries, part heads, other
fields) is bounded by ENVELOPE_BYTES."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

FIELD = "file"
# Bytes of a body that are not the file's own: boundaries, part heads, other fields.
ENVELOPE_BYTES = 16 * 1024
MAX_PARTS = 16


class MalformedBody(ValueError):
    """Not a multipart body this route can read; the message says why."""


class MissingFile(ValueError):
    """The body holds no `file` part."""


@dataclass(frozen=True)
class FilePart:
    filename: str  # as the client sent it; see names.py before using it
    chunks: AsyncIterator[bytes]


def boundary_of(content_type: str | None) -> bytes:
    kind, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary", b"")
    if kind != b"multipart/form-data" or not boundary:
        raise MalformedBody("the body must be multipart/form-data with a boundary")
    return boundary


async def file_part(body: AsyncIterable[bytes], content_type: str | None) -> FilePart:
    """The body's `file` part, its bytes to be read once; reading them to the end
    also reads the rest of the body and checks that it is whole."""
    reader = _Reader(body, boundary_of(content_type))
    async for event in reader.events:
        if isinstance(event, _Head) and event.name == FIELD:
            return FilePart(event.filename, reader.part_bytes())
    raise MissingFile(f"the body has no part named {FIELD!r}")


@dataclass(frozen=True)
class _Head:
    name: str
    filename: str


# What the parser reports, in order, while it is fed a chunk.
_BEGIN, _HEAD_DONE, _END = "begin", "head done", "end"


class _Reader:
    def __init__(self, body: AsyncIterable[bytes], boundary: bytes) -> None:
        self._body = aiter(body)
        self._reported: list[str | bytes | tuple[bytes, bytes]] = []
        self._header: list[bytes] = [b"", b""]
        self._ended = False
        try:
            self._parser = MultipartParser(boundary, self._callbacks())  # type: ignore[arg-type]
        except FormParserError as exc:
            raise MalformedBody(f"the multipart body cannot be read: {exc}") from None
        self.events = self._events()  # one generator: the file part's bytes follow its head

    def _callbacks(self) -> dict[str, object]:
        report = self._reported.append

        def field_(data: bytes, start: int, end: int) -> None:
            self._header[0] += data[start:end]

        def value(data: bytes, start: int, end: int) -> None:
            self._header[1] += data[start:end]

        def header_end() -> None:
            report((self._header[0].lower(), self._header[1]))
            self._header = [b"", b""]

        def part_data(data: bytes, start: int, end: int) -> None:
            report(data[start:end])

        def ended() -> None:
            self._ended = True

        return {
            "on_part_begin": lambda: report(_BEGIN),
            "on_header_field": field_,
            "on_header_value": value,
            "on_header_end": header_end,
            "on_headers_finished": lambda: report(_HEAD_DONE),
            "on_part_data": part_data,
            "on_part_end": lambda: report(_END),
            "on_end": ended,
        }

    async def _events(self) -> AsyncIterator[_Head | bytes | None]:
        """A part's head, its bytes (file parts only), None at a part's end; the body must end whole."""
        heads: list[tuple[bytes, bytes]] = []
        envelope = parts = 0
        in_file = False
        async for chunk in self._body:
            if self._ended:  # an epilogue after the closing boundary: ignored, bounded
                envelope += len(chunk)
                _check_envelope(envelope)
                continue
            self._reported.clear()
            try:
                self._parser.write(chunk)
            except FormParserError as exc:
                raise MalformedBody(f"the multipart body cannot be read: {exc}") from None
            envelope += len(chunk)
            for item in list(self._reported):
                if item == _BEGIN:
                    heads = []
                    parts += 1
                    if parts > MAX_PARTS:
                        raise MalformedBody(f"the body has more than {MAX_PARTS} parts")
                elif isinstance(item, tuple):
                    heads.append(item)
                elif item == _HEAD_DONE:
                    head = _head(heads)
                    in_file = head.name == FIELD
                    if in_file:
                        yield head
                elif item == _END:
                    if in_file:
                        yield None
                    in_file = False
                elif in_file and isinstance(item, bytes):
                    envelope -= len(item)
                    if item:
                        yield item
            _check_envelope(envelope)
        if not self._ended:
            raise MalformedBody("the multipart body ended before its closing boundary")

    async def part_bytes(self) -> AsyncIterator[bytes]:
        """The file part's bytes, then the rest of the body read and checked."""
        async for event in self.events:
            if event is None:
                break
            if isinstance(event, bytes):
                yield event
        async for event in self.events:
            if isinstance(event, _Head):
                raise MalformedBody(f"the body has more than one part named {FIELD!r}")


def _check_envelope(envelope: int) -> None:
    if envelope > ENVELOPE_BYTES:
        raise MalformedBody(f"the body's parts other than the file exceed {ENVELOPE_BYTES} bytes")


def _head(headers: list[tuple[bytes, bytes]]) -> _Head:
    disposition = next((value for name, value in headers if name == b"content-disposition"), b"")
    kind, params = parse_options_header(disposition)
    if kind != b"form-data":
        raise MalformedBody("each part needs a Content-Disposition of form-data")
    name = params.get(b"name", b"").decode("utf-8", "replace")
    return _Head(name, params.get(b"filename", b"").decode("utf-8", "replace"))
