"""Slow readers: the service's RSS while --slow-clients sockets read nothing (a
per-room socket with since=0 into --slow-messages messages of 16 KB), then while
as many 500-entry event pages go unread, and after each; CHAT_SEND_TIMEOUT_SECONDS
is --slow-timeout (bench/load/slow_readers.py)."""

from __future__ import annotations

import argparse
from typing import Any

from harness import loadgen, server
from report import failed, table

NAME = "slow-readers"
ROWS = False


def run(args: argparse.Namespace) -> dict[str, Any]:
    env = {
        "CHAT_MAX_MESSAGE_CHARS": "16000",
        "CHAT_SEND_TIMEOUT_SECONDS": str(args.slow_timeout),
        "CHAT_SEND_QUEUE": "1000",  # the default: what bounds a socket's frames is the byte bound
    }
    with server("service", args, **env) as srv:
        options: list[object] = ["--clients", args.slow_clients, "--messages", args.slow_messages]
        options += ["--watch", args.slow_watch, "--interval", args.slow_interval, "--gone-wait", args.slow_gone_wait]
        return {
            "scenario": NAME,
            "target": "service",
            "send_timeout_s": args.slow_timeout,
            **loadgen(args, "slow-readers", srv, options),
        }


def markdown(slow: dict[str, Any]) -> list[str]:
    rows = []
    for key, what in (("sockets", "per-room sockets, since=0"), ("responses", "event pages of 500")):
        samples = slow[key]["samples"]
        rows.append(
            {
                "what": what,
                "clients": slow["clients"],
                "at_rest": slow["at_rest_mib"],
                "peak": max((s[1] for s in samples), default=None),
                "last": samples[-1][1] if samples else None,
                "gone": slow[key]["clients_gone_mib"],
                "fds": max((s[2] for s in samples), default=None),
            }
        )
    head = (
        f"RSS of the service (MiB) while {slow['clients']} raw sockets (4 KiB receive buffers) read nothing, "
        f"{slow['messages']:,} messages of {slow['body_chars']:,} characters in the room; send timeout "
        f"{slow['send_timeout_s']} s; sampled every {slow['samples_interval_s']} s for {slow['watch_s']} s, "
        "then after the clients left. Samples in the JSON."
    )
    columns = [
        ("what", "unread"),
        ("clients", "clients"),
        ("at_rest", "at rest MiB"),
        ("peak", "peak MiB"),
        ("last", "last sample MiB"),
        ("gone", "clients gone MiB"),
        ("fds", "peak descriptors"),
    ]
    return ["### Slow readers (memory)", head, table(rows, columns)]


def warnings(slow: dict[str, Any]) -> list[str]:
    return failed(NAME, slow)
