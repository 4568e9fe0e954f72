"""Makes one read and records its result, or why it failed, in the snapshot."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from validator.aws.session import DENIED_CODES, NOT_FOUND_CODES, describe_failure, error_code, fatal, unparsable_retried
from validator.kinds import carried
from validator.snapshot import Snapshot

NOT_FOUND = object()
FAILED = object()


class Recorder:
    def __init__(self, snap: Snapshot, progress: Callable[[str], None] | None = None):
        self.snap = snap
        self.progress = progress or (lambda _msg: None)
        self.calls: list[str] = []
        self.pool: Executor | None = None  # set by account.read(): where together() runs its calls
        self._lock = threading.Lock()

    def together(self, *fns: Callable[[], Any]) -> list[Any]:
        """Run independent reads at once and return their results in order. The caller
        runs the first, and any the pool has not started yet (so a small pool, even one
        worker, cannot deadlock on reads waiting for reads). No reads: no results."""
        if not fns:
            return []
        futs = [self.pool.submit(carried(fn)) for fn in fns[1:]] if self.pool else []
        out = [fns[0]()]
        for fn, fut in zip(fns[1:], futs):
            out.append(fn() if fut.cancel() else fut.result())
        return out + [fn() for fn in fns[1 + len(futs) :]]

    def call(self, path: str, action: str, fn: Callable[[], Any]) -> Any:
        """Run `fn` (one API call, or one paginated listing). On a not-found error
        return NOT_FOUND; on any other failure record it under `path` and return FAILED."""
        import botocore.exceptions as bex  # deferred: loads botocore; botocore when AWS is read, not at import
        from botocore.parsers import ResponseParserError  # deferred: loads botocore

        with self._lock:
            self.calls.append(action)
        self.progress(action)
        try:
            return unparsable_retried(fn)
        except (bex.ClientError, bex.BotoCoreError, ResponseParserError) as exc:  # ResponseParserError: an
            stop = fatal(exc)  # error page that is not XML
            if stop is not None:
                raise stop from None
            if isinstance(exc, bex.ClientError) and error_code(exc) in NOT_FOUND_CODES:
                return NOT_FOUND
            why = describe_failure(exc, action)
            if self.snap.caller_arn and error_code(exc) in DENIED_CODES:
                why += f" (add it to the policy of {self.snap.caller_arn})"
            self.fail(path, why)
            return FAILED

    def forget(self, path: str) -> None:
        """Drop the failures recorded under `path` (reads of parts of something that is not there)."""
        with self._lock:
            for key in [k for k in self.snap.errors if k.startswith(path + ".")]:
                del self.snap.errors[key]

    def fail(self, path: str, why: str) -> None:
        """Record that `path` could not be read; every rule that needs it becomes `error`."""
        with self._lock:
            self.snap.errors[path] = why

    def put(self, path: str, value: Any) -> None:
        node = self.snap.data
        parts = path.split(".")
        with self._lock:
            for p in parts[:-1]:
                node = node.setdefault(p, {})
            node[parts[-1]] = value


@dataclass(frozen=True)
class Reading:
    """What every reader is given: a client per AWS service, the recorder, whether remediate
    reads (it also reads what only the fixers use), and the params (the names of the kinds they
    name: Kind.named)."""

    clients: dict[str, Any]
    rec: Recorder
    for_fix: bool = False
    params: Any = None


def tags(raw: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in raw or []}


def paginate(client: Any, op: str, key: str, **kwargs: Any) -> list[Any]:
    out: list[Any] = []
    for page in client.get_paginator(op).paginate(**kwargs):
        out.extend(page.get(key, []))
    return out


def json_or_text(text: str) -> Any:
    """A policy AWS returns as JSON text, as a document; the text itself when it is not JSON (the
    rules then say so)."""
    try:
        return json.loads(text)
    except ValueError:
        return text
