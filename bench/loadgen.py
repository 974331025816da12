"""The load client: one subcommand per scenario step, each printing one JSON object
(its results) as the last line of stdout. bench/run.py runs it pinned to the client
core (the storage reference to the server core), but it also runs on its own
against a server you started, e.g.

    python bench/loadgen.py broadcast --target raw_ws --port 8765 --clients-per-room 100 --mode rate --rate 200

Without --server-pid it reports no server CPU or RSS. The steps are in bench/load/:
Python sockets on picows (picows_client.py), listening sockets in one C epoll loop
(native.py), so the client costs well under the server it measures."""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import orjson
import uvloop
from load import (
    broadcast,
    connect,
    entries,
    idle,
    login,
    matrix,
    mux,
    procstat,
    quiet,
    read_probe,
    replay,
    slow_readers,
    storage,
    unread_fill,
    unread_measure,
)
from load.targets import MAX_BODY_SIZE, server_options

# Subcommand: its module (HELP, add_arguments, run) and whether it talks to a server.
COMMANDS: dict[str, tuple[ModuleType, bool]] = {
    "broadcast": (broadcast, True),
    "idle": (idle, True),
    "connect": (connect, True),
    "replay": (replay, True),
    "login": (login, True),
    "entries": (entries, True),
    "mux": (mux, True),
    "matrix": (matrix, True),
    "quiet": (quiet, True),
    "slow-readers": (slow_readers, True),
    "read-probe": (read_probe, True),
    "unread-fill": (unread_fill, False),
    "unread-measure": (unread_measure, False),
    "storage": (storage, False),
}


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, talks_to_server) in COMMANDS.items():
        p = sub.add_parser(name, help=module.HELP)
        p.add_argument("--timeout", type=float, default=600, help="hard limit for the whole step, seconds")
        if talks_to_server:
            server_options(p)
        module.add_arguments(p)
    args = parser.parse_args(argv)
    body_size = getattr(args, "body_size", 100)
    if COMMANDS[args.command][1] and not 40 <= body_size <= MAX_BODY_SIZE:
        parser.error(f"--body-size must be 40..{MAX_BODY_SIZE}")
    return args


async def main(args: argparse.Namespace) -> dict[str, Any]:
    async with asyncio.timeout(args.timeout):
        result: dict[str, Any] = await COMMANDS[args.command][0].run(args)
        return result


if __name__ == "__main__":
    arguments = parse_args(sys.argv[1:])
    procstat.raise_nofile(resource.getrlimit(resource.RLIMIT_NOFILE)[1])  # as many sockets as allowed
    print(orjson.dumps(uvloop.run(main(arguments))).decode(), flush=True)
