"""Named pipes (FIFOs) as input or --output, waited on for at most WAIT_S.

`cat p` blocks until someone opens the other end of p, and so did vhv: a pipe with no
writer (or, for --output, no reader) hung it forever. Here the pipe is opened without
blocking and waited on with poll(); a writer or reader that comes a moment later, or a
bash `<(...)` (/dev/fd/N), works as before.
"""

from __future__ import annotations

import errno
import os
import select
import stat
import time
from typing import Any

from validator.errors import VhvError

WAIT_S = 30.0  # how long a pipe may stay silent (tests make it small)
_RETRY_S = 0.05  # how often an --output pipe is tried again for a reader


def is_fifo(path: Any) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False  # opening it says what is wrong


def read(path: Any, max_bytes: int) -> bytes:
    """At most max_bytes + 1 bytes of the pipe, up to its end (all its writers closed it)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # never waits for a writer, unlike open()
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            if not poller.poll(WAIT_S * 1000):  # data, or a writer that came and closed (POLLHUP)
                more = " more" if size else ""
                closed = ", and it was not closed" if size else ""
                raise VhvError(f"{path}: nothing{more} was written to this pipe in {WAIT_S:g} s{closed}")
            try:
                chunk = os.read(fd, min(1 << 16, max_bytes + 1 - size))
            except BlockingIOError:
                continue
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def write(path: Any, text: str) -> None:
    """`text` into the pipe, once a reader has opened it (waits WAIT_S for one)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO while no one reads
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
        if time.monotonic() >= deadline:
            raise VhvError(f"{path}: no one opened this pipe for reading in {WAIT_S:g} s")
        time.sleep(_RETRY_S)
    try:
        write_all(fd, text.encode("utf-8"), path)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes, path: Any) -> None:
    """All of `data` into the open descriptor `fd` (a pipe, a terminal, a file), waiting at most
    WAIT_S at a time for a reader to make room when the descriptor does not block."""
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    view = memoryview(data)
    while view:
        if not poller.poll(WAIT_S * 1000):
            raise VhvError(f"{path}: the reader of this pipe took nothing in {WAIT_S:g} s")
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            continue
