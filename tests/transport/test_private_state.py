"""The transport leans on private state of uvicorn, websockets and httptools
(service/transport/keepalive.py, websocket.py, http.py). An upgrade that moves,
renames or rewrites any of it fails here, naming what changed and the module to
re-check; pyproject.toml bounds the three to the versions these tests pass on."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httptools
import pytest
from packaging.requirements import Requirement
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.datastructures import Headers
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import Protocol
from websockets.server import ServerProtocol
from websockets.streams import StreamReader

from service.transport.http import GuardedHttpProtocol
from service.transport.keepalive import lone_pong
from service.transport.stalls import WatchedWrites
from service.transport.websocket import ChatWebSocketProtocol
from tests.transport.sansio import UPGRADE, Transport, masked

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"
KEEPALIVE, WEBSOCKET, HTTP = (f"service/transport/{name}.py" for name in ("keepalive", "websocket", "http"))
RECHECK = {WebSocketsSansIOProtocol: WEBSOCKET, HttpToolsProtocol: HTTP}
CONNECTION = ("config", "server_state", "app_state", "_loop")

# uvicorn's methods the transport overrides or calls: the parameters after self, and whether async.
WS_METHODS: dict[str, tuple[tuple[str, ...], bool]] = {
    "__init__": (CONNECTION, False),
    "connection_made": (("transport",), False),
    "connection_lost": (("exc",), False),
    "pause_writing": ((), False),
    "resume_writing": ((), False),
    "data_received": (("data",), False),
    "handle_connect": (("event",), False),
    "handle_pong": (("event",), False),
    "start_keepalive": ((), False),
    "stop_keepalive": ((), False),
    "keepalive_timeout": ((), False),
    "shutdown": ((), False),
    "send": (("message",), True),
    "run_asgi": ((), True),
}
HTTP_METHODS: dict[str, tuple[tuple[str, ...], bool]] = {
    "__init__": (CONNECTION, False),
    "connection_made": (("transport",), False),
    "connection_lost": (("exc",), False),
    "pause_writing": ((), False),
    "resume_writing": ((), False),
    "data_received": (("data",), False),
    "_unset_keepalive_if_required": ((), False),
    "_should_upgrade": ((), False),
    "_unsupported_upgrade_warning": ((), False),
    "handle_websocket_upgrade": ((), False),
    "send_400_response": (("msg",), False),
    "on_message_begin": ((), False),
    "on_url": (("url",), False),
    "on_header": (("name", "value"), False),
    "on_headers_complete": ((), False),
    "on_body": (("body",), False),
    "on_message_complete": ((), False),
    "on_response_complete": ((), False),
    "timeout_keep_alive_handler": ((), False),
    "shutdown": ((), False),
}
# Instance state the subclasses set in __init__, beyond their class attributes; uvicorn must not use these names.
OWN_STATE = {
    ChatWebSocketProtocol: ("_send_timeout",),
    GuardedHttpProtocol: (
        *("_request_timeout", "_send_timeout", "_deadline", "_head_bytes"),
        *("_header_count", "_refused", "_in_head", "_head_fed"),
        *("_upload", "_body_since_armed"),
    ),
}

# Sources of uvicorn methods whose code the transport copies, replaces or depends on
# line by line (sha256 of inspect.getsource, first 16 hex digits), with what depends on it.
SOURCES = {
    (WebSocketsSansIOProtocol, "send"): ("3b8afeb81b9b9ae8", "_send_close copies its close branch; send() wraps it"),
    (WebSocketsSansIOProtocol, "shutdown"): ("9dc78b17c097305e", "shutdown() redoes it for an open socket"),
    (WebSocketsSansIOProtocol, "data_received"): ("d6884fcae2995115", "a lone pong skips it (lone_pong)"),
    (WebSocketsSansIOProtocol, "handle_events"): ("b2c9351a5d13493f", "a lone pong skips it (lone_pong)"),
    (WebSocketsSansIOProtocol, "handle_pong"): ("b20c68cc7e4f9bca", "replaced by a no-op"),
    (WebSocketsSansIOProtocol, "start_keepalive"): ("6d83bdbc3db82b86", "replaced by the loop's Keepalive"),
    (WebSocketsSansIOProtocol, "stop_keepalive"): ("bbb91b997b37b77c", "replaced by the loop's Keepalive"),
    (WebSocketsSansIOProtocol, "keepalive_timeout"): ("8e1ceb6ec446de9d", "keepalive_turn() closes through it"),
    (WebSocketsSansIOProtocol, "run_asgi"): ("662375aa38d9044c", "it closes unless a close timer will"),
    (WebSocketsSansIOProtocol, "handle_connect"): ("fe2a087aa2223cf8", "sets response and scope, extended"),
    (WebSocketsSansIOProtocol, "connection_lost"): ("d0f4179c028b3303", "it sets disconnected, ends close_timer"),
    (HttpToolsProtocol, "data_received"): ("010a7ae59a5d3b1a", "data_received() is a copy of it"),
    (HttpToolsProtocol, "_unset_keepalive_if_required"): ("00a6a4e47214e68e", "called by the copy"),
    (HttpToolsProtocol, "_should_upgrade"): ("8fcad1ab8e096739", "called by the copy"),
    (HttpToolsProtocol, "_unsupported_upgrade_warning"): ("55bbd2762b189d9a", "called by the copy"),
    (HttpToolsProtocol, "send_400_response"): ("ae5a4a3782b646fd", "called by the copy"),
}


def test_installed_versions_are_within_the_bounds_tested() -> None:
    dependencies = [Requirement(line) for line in tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]]
    bounds = {requirement.name: requirement.specifier for requirement in dependencies}
    for name in ("uvicorn", "websockets", "httptools"):
        assert name in bounds, f"pyproject.toml must bound {name}: the transport uses its private state"
        assert any(spec.operator in ("<", "<=", "==", "~=") for spec in bounds[name]), f"{name} needs an upper bound"
        installed = version(name)
        assert bounds[name].contains(installed), (
            f"{name} {installed} is outside the tested {bounds[name]}: run tests/transport and re-check "
            f"{KEEPALIVE}, {WEBSOCKET} and {HTTP} before widening the bound in pyproject.toml"
        )


@pytest.mark.parametrize(
    ("ours", "base", "methods"),
    [
        (ChatWebSocketProtocol, WebSocketsSansIOProtocol, WS_METHODS),
        (GuardedHttpProtocol, HttpToolsProtocol, HTTP_METHODS),
    ],
)
def test_the_methods_overridden_or_called_keep_their_shape(ours: type, base: type, methods: dict[str, Any]) -> None:
    where = f"re-check {RECHECK[base]}"
    for name, (parameters, is_async) in methods.items():
        method = getattr(base, name, None)
        assert inspect.isfunction(method), f"{base.__name__}.{name} is gone: {where}"
        assert tuple(inspect.signature(method).parameters)[1:] == parameters, f"{base.__name__}.{name}: {where}"
        assert inspect.iscoroutinefunction(method) is is_async, f"{base.__name__}.{name} async or not: {where}"
    # Every other name the subclass (and its WatchedWrites mixin) defines must stay its own.
    own = {name for cls in (ours, WatchedWrites) for name in vars(cls) if not name.startswith("__")}
    own |= set(OWN_STATE[ours])
    for name in sorted(own - set(methods)):
        assert not hasattr(base, name), f"{base.__name__} now has {name}, which {ours.__name__} shadows: {where}"


def test_the_sources_relied_on_are_unchanged() -> None:
    changed = []
    for (cls, name), (digest, reliance) in SOURCES.items():
        method = vars(cls).get(name)
        actual = "gone" if method is None else hashlib.sha256(inspect.getsource(method).encode()).hexdigest()[:16]
        if actual != digest:
            changed.append(f"{cls.__name__}.{name} ({actual}): {reliance}; re-check {RECHECK[cls]}")
    assert not changed, "uvicorn changed code the transport relies on:\n" + "\n".join(changed)


def _is(value: Any, kind: type | tuple[type, ...], name: str, where: str) -> None:
    assert isinstance(value, kind), f"{name} is {type(value).__name__}, not {kind}: re-check {where}"


async def test_the_websocket_protocol_state_read_and_written_keeps_its_kind() -> None:
    accepted, release = asyncio.Event(), asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        accepted.set()
        await release.wait()

    config = Config(app=app, ws=WebSocketsSansIOProtocol, lifespan="off", ws_per_message_deflate=False)
    config.load()
    protocol = WebSocketsSansIOProtocol(config, ServerState(), {})
    protocol.connection_made(Transport())
    protocol.data_received(UPGRADE)
    # What handle_connect leaves for the subclass: the response, the scope, the request.
    _is(protocol.response, Response, "response", WEBSOCKET)
    _is(protocol.response.status_code, int, "response.status_code", WEBSOCKET)
    _is(protocol.scope["extensions"], dict, "scope['extensions']", WEBSOCKET)
    _is(protocol.request, Request, "request", WEBSOCKET)
    _is(protocol.request.headers, Headers, "request.headers", WEBSOCKET)
    await asyncio.wait_for(accepted.wait(), 5)
    state: dict[str, type | tuple[type, ...]] = {
        "loop": asyncio.AbstractEventLoop,
        "conn": ServerProtocol,
        "transport": asyncio.Transport,
        "writable": asyncio.Event,
        "queue": asyncio.Queue,
        "ping_interval": (float, type(None)),
        "close_timeout": float,
        "close_timer": type(None),  # a TimerHandle once a close is sent
        "initial_response": type(None),  # a tuple for a denial response
        **dict.fromkeys(("disconnected", "handshake_complete", "close_sent", "read_paused"), bool),
    }
    for name, kind in state.items():
        assert hasattr(protocol, name), f"WebSocketsSansIOProtocol.{name} is gone: re-check {WEBSOCKET}"
        _is(getattr(protocol, name), kind, name, WEBSOCKET)
    assert protocol.handshake_complete and not protocol.disconnected
    release.set()
    await asyncio.gather(*protocol.tasks)
    protocol.connection_lost(None)


async def test_the_http_protocol_state_read_keeps_its_kind() -> None:
    started = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        started.set()
        await asyncio.Event().wait()

    config = Config(app=app, lifespan="off")
    config.load()
    protocol = HttpToolsProtocol(config, ServerState(), {})
    protocol.connection_made(Transport())
    state = {"loop": asyncio.AbstractEventLoop, "logger": logging.Logger, "transport": asyncio.Transport}
    state |= {"parser": httptools.HttpRequestParser, "server_state": ServerState, "cycle": type(None)}
    for name, kind in state.items():
        assert hasattr(protocol, name), f"HttpToolsProtocol.{name} is gone: re-check {HTTP}"
        _is(getattr(protocol, name), kind, name, HTTP)
    _is(protocol.server_state.default_headers, list, "server_state.default_headers", HTTP)
    _is(protocol.flow.read_paused, bool, "flow.read_paused", HTTP)  # uploads wait while it holds
    protocol.data_received(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n")
    await asyncio.wait_for(started.wait(), 5)
    _is(protocol.cycle, RequestResponseCycle, "cycle", HTTP)
    _is(protocol.cycle.response_started, bool, "cycle.response_started", HTTP)
    # What on_headers_complete leaves for the upload deadline: the method and the path.
    assert (protocol.scope.get("method"), protocol.scope.get("path")) == ("GET", "/"), f"scope: re-check {HTTP}"
    protocol.connection_lost(None)
    for task in protocol.tasks:
        task.cancel()
    await asyncio.gather(*protocol.tasks, return_exceptions=True)


def test_an_exception_from_a_parser_callback_surfaces_as_a_parser_error() -> None:
    """GuardedHttpProtocol stops httptools by raising from a callback, and takes the
    HttpParserError that comes out of feed_data for that refusal."""

    class Refusing:
        def on_url(self, url: bytes) -> None:
            raise LookupError

    with pytest.raises(httptools.HttpParserError):
        httptools.HttpRequestParser(Refusing()).feed_data(b"GET /refused HTTP/1.1\r\n")


def _open_server_protocol() -> ServerProtocol:
    conn = ServerProtocol()
    conn.receive_data(UPGRADE)
    [request] = conn.events_received()
    conn.send_response(conn.accept(request))
    conn.data_to_send()
    return conn


def test_an_idle_parser_waits_in_the_shape_lone_pong_recognises() -> None:
    where = f"re-check lone_pong in {KEEPALIVE}"
    assert inspect.isgeneratorfunction(Protocol.parse), f"websockets' Protocol.parse: {where}"
    assert inspect.isgeneratorfunction(StreamReader.at_eof), f"websockets' StreamReader.at_eof: {where}"
    conn = _open_server_protocol()
    _is(conn.reader, StreamReader, "conn.reader", KEEPALIVE)
    _is(conn.reader.buffer, bytearray, "conn.reader.buffer", KEEPALIVE)
    assert inspect.isgenerator(conn.parser), f"conn.parser is not a generator: {where}"
    frames = conn.parser.gi_yieldfrom
    assert frames is not None and frames.gi_code is Protocol.parse.__code__, f"the server's parser: {where}"
    assert frames.gi_yieldfrom.gi_code is StreamReader.at_eof.__code__, f"the parser between frames: {where}"
    pong = masked(Opcode.PONG.value, b"")
    assert lone_pong(pong, conn), f"lone_pong no longer recognises an idle parser: {where}"
    conn.receive_data(masked(Opcode.TEXT.value, b"half a frame")[:6])  # mid-frame: not waiting at at_eof
    assert frames.gi_yieldfrom is None or frames.gi_yieldfrom.gi_code is not StreamReader.at_eof.__code__, where
    assert not lone_pong(pong, conn), f"lone_pong takes a pong in the middle of a frame: {where}"


def test_parsing_a_lone_pong_only_reports_it() -> None:
    """What lone_pong skips: websockets, given a lone pong, changes nothing but its events."""
    conn = _open_server_protocol()

    def state() -> dict[str, Any]:
        copied = {name: list(v) if isinstance(v, list) else v for name, v in vars(conn).items() if name != "events"}
        return copied | {"reader.buffer": bytes(conn.reader.buffer)}

    before = state()
    conn.receive_data(masked(Opcode.PONG.value, b"1234"))
    assert conn.events_received() == [Frame(Opcode.PONG, b"1234")], f"re-check lone_pong in {KEEPALIVE}"
    assert state() == before, f"parsing a pong changes websockets' state: re-check lone_pong in {KEEPALIVE}"
