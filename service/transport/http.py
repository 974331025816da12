"""uvicorn's httptools protocol with the deadline and head limits it lacks.

uvicorn closes idle keep-alive connections (`timeout_keep_alive`) but gives a
connection that never finishes its request unlimited time, and httptools
accumulates a request line and headers of any size. Here every request must
arrive whole (headers and body) within `request_timeout` of the connection
opening or of its first byte, or it is answered 408 and closed; a head over the
limits is answered 414 or 431 at once. Uploads (POST /api/v1/files) may take
longer: there every 64 KiB of body received pushes the deadline back, so a client
that keeps sending is never cut and one that stops or trickles still is
(docs/files.md); while the service itself has stopped reading an upload (its
storage is behind), the deadline waits for it. WebSocket upgrades are re-parsed
by the websockets library, whose own limits (8 KiB a line, 128 headers) would
otherwise end the handshake without an answer, so these limits sit below them.

A response the client does not read is held in the transport's buffer, whole
(a JSON body is written at once) or up to the high-water mark (a streamed body
waits for it to drain), and uvicorn's closes wait for that buffer to be sent.
A client that reads nothing of it for `send_timeout` (stalls.py) has its
connection dropped, which also releases a response waiting to drain.

data_received() is uvicorn's HttpToolsProtocol.data_received with the refusal
added, so it calls that class's private _unset_keepalive_if_required,
_should_upgrade and _unsupported_upgrade_warning; the class's parser, cycle and
server_state are read too, and a refusal relies on httptools turning a callback's
exception into HttpParserError. on_body() wraps uvicorn's and reads the scope's
method and path; _timed_out() reads flow.read_paused.
tests/transport/test_private_state.py checks each (names, signatures, digests of
the code copied); pyproject.toml holds uvicorn and httptools to the releases it
passed on."""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.transport.stalls import WatchedWrites, drop

MAX_URL_BYTES = 8_000
MAX_HEADER_LINE_BYTES = 8_000
MAX_HEADERS = 100
MAX_HEAD_BYTES = 64 * 1024
# How long a refused connection's incoming bytes are read and dropped before it closes.
LINGER_SECONDS = 2.0
# The upload route (service/files/router.py under the API prefix), and the body
# bytes that, received since the deadline was armed, push it back there.
UPLOAD_PATH = "/api/v1/files"
UPLOAD_PROGRESS_BYTES = 64 * 1024


class GuardedHttpProtocol(WatchedWrites, HttpToolsProtocol):
    def __init__(self, *args: Any, request_timeout: float, send_timeout: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request_timeout = request_timeout
        self._send_timeout = send_timeout
        self._deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._header_count = 0
        self._refused = False
        # Bytes fed while a request's head is incomplete: httptools gathers a header
        # line with `bytes +=` and reports it only once it ends, so the limits are
        # also checked here, on what arrives, before it is fed.
        self._in_head = True
        self._head_fed = 0
        self._upload = False  # the request is an upload (UPLOAD_PATH)
        self._body_since_armed = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # A response the client does not read (stalls.py).

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch_if_closing()  # a response with `connection: close`

    def timeout_keep_alive_handler(self) -> None:
        super().timeout_keep_alive_handler()
        self._watch_if_closing()

    def shutdown(self) -> None:
        super().shutdown()
        self._watch_if_closing()

    def _stalled(self) -> None:
        drop(self.transport)

    def data_received(self, data: bytes) -> None:
        # uvicorn's own, but a refusal raised from a callback is not "invalid HTTP".
        if self._refused:
            return
        if self._in_head:
            if self._head_fed > MAX_HEAD_BYTES:  # what came before was all head
                self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, stop=False)
                return
            self._head_fed += len(data)
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            if not self._refused:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = self._header_count = 0
        if self._deadline is None:
            self._arm()

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        if self._head_bytes > MAX_URL_BYTES:
            self._refuse(HTTPStatus.REQUEST_URI_TOO_LONG)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        self._header_count += 1
        if (
            len(name) + len(value) + 2 > MAX_HEADER_LINE_BYTES
            or self._header_count > MAX_HEADERS
            or self._head_bytes > MAX_HEAD_BYTES
        ):
            self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head, self._head_fed = False, 0
        super().on_headers_complete()
        self._upload = self.scope.get("method") == "POST" and self.scope.get("path") == UPLOAD_PATH

    def on_body(self, body: bytes) -> None:
        # Once answered (a 413, say) the rest is only discarded: no more time for it.
        if self._upload and self._deadline is not None and not self.cycle.response_started:
            self._body_since_armed += len(body)
            if self._body_since_armed >= UPLOAD_PROGRESS_BYTES:
                self._arm()
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        self._in_head = True  # the next request on this connection starts with its head
        self._upload = False
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # the WebSocket has its own pings and timeouts
        super().handle_websocket_upgrade()

    def _arm(self) -> None:
        self._disarm()
        self._body_since_armed = 0
        self._deadline = self.loop.call_later(self._request_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._upload and self.flow.read_paused and not self.cycle.response_started:
            # Nothing arrived because the service stopped reading: its storage is
            # behind, not the client. Storage's own timeouts bound the wait.
            self._arm()
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # the app answered already; the body just never came
            self._watch_if_closing()
        else:
            self._refuse(HTTPStatus.REQUEST_TIMEOUT, stop=False)

    def _refuse(self, status: HTTPStatus, *, stop: bool = True) -> None:
        """Answer with `status` and close. From a parser callback, also stop parsing."""
        if not self._refused:
            self._refused = True
            self._disarm()
            body = status.phrase.encode()
            head = [f"HTTP/1.1 {status.value} {status.phrase}".encode()]
            head += [name + b": " + value for name, value in self.server_state.default_headers]
            head += [
                b"content-type: text/plain; charset=utf-8",
                b"content-length: %d" % len(body),
                b"connection: close",
            ]
            self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
            # A lingering close: closing with the client's bytes unread would reset the
            # connection and could destroy the answer before it is read. Stop sending,
            # drop what still arrives, and close a little later.
            if self.transport.can_write_eof():
                self.transport.write_eof()
                self.loop.call_later(LINGER_SECONDS, self.transport.close)
            else:
                self.transport.close()
        if stop:
            raise _Refused


class _Refused(Exception):
    """Raised from a parser callback to stop httptools parsing a refused request."""
