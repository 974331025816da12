"""Room frames go to a socket either at once (the server's chat.write) or through
its queue when the transport is full; a client sees them in seq order whatever
mix backpressure makes of the two."""

from __future__ import annotations

from tests.realtime.conftest import ServerFactory


async def test_frames_keep_their_order_while_a_client_stops_and_resumes_reading(make_server: ServerFactory) -> None:
    server = await make_server(
        send_queue=1000, send_queue_bytes=32 << 20, max_message_chars=60000, ws_max_frame_bytes=65536 * 2
    )
    _, token = await server.user("alice")
    room = await server.room(token, "busy")
    reader = await server.connect(room["id"], token, max_queue=1)
    await reader.handshake()
    reader.ws.transport.pause_reading()  # kernel buffers fill, then the server's transport, then the queue
    sender = await server.connect(room["id"], token)
    await sender.handshake()
    paused, more = 300, 200  # 15 MB: more than the socket buffers hold, less than the queue's bounds
    for i in range(paused):
        await sender.message(f"{i} " + "z" * 50_000)
        await sender.messages(1)
    reader.ws.transport.resume_reading()
    for i in range(paused, paused + more):  # while the backlog drains
        await sender.message(f"{i} " + "z" * 50_000)
        await sender.messages(1)
    received = await reader.messages(paused + more, timeout=120)
    assert [m["seq"] for m in received] == list(range(1, paused + more + 1))
    assert [m["body"].split()[0] for m in received] == [str(i) for i in range(paused + more)]
