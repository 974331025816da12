"""The runner's scenarios, in the order a run takes them. Each module has NAME,
ROWS (its result is a list of rows, or one dict), run(args), markdown(result) and
warnings(result); fanout, many_rooms, idle, connect and peers also ratios(result), the
service against the references of the same run."""

from scenarios import (
    connect,
    entries,
    fanout,
    idle,
    instances,
    login,
    many_rooms,
    mux,
    peers,
    quiet,
    reads_under_write,
    replay,
    slow_readers,
    unread,
)

SCENARIOS = {
    m.NAME: m
    for m in (
        fanout,
        many_rooms,
        idle,
        connect,
        replay,
        login,
        entries,
        mux,
        unread,
        quiet,
        instances,
        slow_readers,
        reads_under_write,
        peers,
    )
}
