"""Giving memory back to the system once clients that held much of it are gone.

Frames queued for slow sockets and unread responses are large buffers; freed, they
stay in glibc's heap, so the process keeps its peak size long after the clients
went. When buffers of many megabytes are dropped (a slow consumer closed, an
unread response abandoned), glibc is asked to return free pages (`malloc_trim`),
at most once a second, in a thread: it takes milliseconds on a large heap and
must not hold up the event loop. Without glibc this does nothing."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
from collections.abc import Callable
from typing import Final

# Dropped bytes that make a trim worth it, and how long after the drop it runs
# (the transport frees its buffer once the connection is lost, a turn later).
THRESHOLD_BYTES: Final = 16 << 20
DELAY_SECONDS: Final = 1.0


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim  # ctypes lets go of the GIL during the call
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


class _Trimmer:
    __slots__ = ("trim", "dropped", "pending")

    def __init__(self, trim: Callable[[int], int] | None) -> None:
        self.trim = trim
        self.dropped = 0
        self.pending = False

    def freed(self, nbytes: int) -> None:
        trim = self.trim
        if trim is None:
            return
        self.dropped += nbytes
        if self.dropped >= THRESHOLD_BYTES and not self.pending:
            self.pending = True
            loop = asyncio.get_running_loop()
            loop.call_later(DELAY_SECONDS, self._run, loop, trim)

    def _run(self, loop: asyncio.AbstractEventLoop, trim: Callable[[int], int]) -> None:
        self.dropped = 0
        loop.run_in_executor(None, trim, 0).add_done_callback(self._done)

    def _done(self, _: object) -> None:
        self.pending = False


_TRIMMER = _Trimmer(_malloc_trim())


def freed(nbytes: int) -> None:
    """`nbytes` of buffers were just dropped; trim soon if that makes many."""
    _TRIMMER.freed(nbytes)
