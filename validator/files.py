"""Writing a report, a snapshot or a record whole or not at all.

A file is written beside its target and renamed over it; a descriptor the shell opened
(/dev/stdout, `>> log`, `>(...)`) or a named pipe is written to as it is, never replaced.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
from pathlib import Path

from validator import pipes
from validator.errors import VhvError


def write_atomic(path: str | Path, text: str) -> None:
    """Write next to the target and rename: a report is never half-written. A symlink is
    followed (its target is written, as the shell's `>` does), a device or pipe is written
    to (`--output /dev/null`), never replaced by a file; a read-only file or a directory is
    refused. A file that is replaced keeps its permissions. /dev/stdout, /dev/fd/N and the
    like are descriptors the shell opened: written to as they are (open_descriptor)."""

    if str(path).endswith(os.sep):
        raise VhvError(f"{path}: is a directory name; give a file name")
    fd = open_descriptor(path)
    if fd is not None:
        _write_to_descriptor(path, fd, text)  # opened by the shell: `>> log` appends, `| wc` is a pipe
        return
    p = Path(os.path.realpath(path))
    try:
        st = p.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise VhvError(f"{path}: cannot write: {exc.strerror}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise VhvError(f"{path}: is a directory; give a file name")
    if st is not None and stat.S_ISFIFO(st.st_mode):
        _write_to_pipe(path, p, text)  # renaming a file over it would replace it; open() would wait forever
        return
    if st is not None and not stat.S_ISREG(st.st_mode):
        _write_in_place(path, p, text)  # a device: renaming a file over it would replace it
        return
    if st is not None and (
        not st.st_mode & 0o222 or not os.access(p, os.W_OK)
    ):  # mode bits too: root may write anything
        raise VhvError(f"{path}: is read-only; vhv does not replace it (make it writable or choose another file)")
    tmp = p.with_name(f".{p.name}.vhv-tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        if st is not None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise VhvError(f"{path}: cannot write: {exc.strerror}") from None


_STD_NAMES = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


def open_descriptor(path: str | Path) -> int | None:
    """The number of the file descriptor of this process that `path` names (/dev/stdout,
    /dev/stderr, /dev/fd/N, /proc/self/fd/N, bash's `>(...)`, or a symlink to one of them), else
    None. Such a path is a descriptor the shell already opened: its realpath is the file behind it
    (`>> log.txt`: renaming a report over log.txt loses its lines) or no file at all (a pipe:
    /proc/<pid>/fd/pipe:[N])."""

    ours = ("self", "thread-self", str(os.getpid()))

    def number(name: str) -> int | None:
        if name in _STD_NAMES:
            return _STD_NAMES[name]
        m = re.fullmatch(r"/dev/fd/(\d+)|/proc/([^/]+)/fd/(\d+)", name)
        if m and m[1]:
            return int(m[1])
        return int(m[3]) if m and m[2] in ours else None

    name = os.path.abspath(path)
    for _ in range(40):  # the kernel's limit of symlinks in a row
        resolved = os.path.join(os.path.realpath(os.path.dirname(name)), os.path.basename(name))
        for candidate in (name, resolved):  # /dev/fd/3 as written; /proc/<pid>/fd/3 behind it
            if number(candidate) is not None:
                return number(candidate)
        try:
            link = os.readlink(resolved)
        except (OSError, ValueError):
            return None  # not a symlink: a file like any other
        name = os.path.normpath(os.path.join(os.path.dirname(resolved), link))
    return None


def _write_to_descriptor(path: str | Path, fd: int, text: str) -> None:
    """`text` written to the descriptor itself, as the shell opened it (append, pipe, terminal):
    never opened again, truncated or replaced."""

    for stream in (sys.stdout, sys.stderr):  # what vhv printed there before comes first
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        pipes.write_all(fd, text.encode("utf-8"), path)
    except OSError as exc:
        if exc.errno == errno.EBADF:
            raise VhvError(f"{path}: cannot write: file descriptor {fd} is not open for writing") from None
        raise VhvError(f"{path}: cannot write: {exc.strerror}") from None


def _write_to_pipe(path: str | Path, p: Path, text: str) -> None:

    try:
        pipes.write(path, text)  # the name the user gave, in its messages
    except OSError as exc:
        raise VhvError(f"{path}: cannot write: {exc.strerror}") from None


def _write_in_place(path: str | Path, p: Path, text: str) -> None:
    try:
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise VhvError(f"{path}: cannot write: {exc.strerror}") from None
