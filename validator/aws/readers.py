"""The readers the catalogue names, found where it says: `reader: MODULE.NAME` is READERS["NAME"]
of validator/aws/MODULE.py (validator.aws.reader says what a reader is).

The IAM actions a reader calls are its kinds' `read_actions` (and `fix_read_actions` for what
remediate adds): account.PERMISSIONS is built from them, and tests/test_catalogue_readers.py holds
them to what the readers call. validator/aws/account.py runs the readers. A new kind's reader is
a function in its service's module and an entry in that module's READERS; nothing here changes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from validator.aws.reader import Read, Reader
from validator.aws.recorder import Reading
from validator.errors import VhvError
from validator.kinds import CATALOGUE, directory, of_every_recipe

__all__ = ["LAST_FOR_FIX", "READERS", "Read", "Reader", "load"]


def _module(name: str, where: str) -> object:
    path = f"validator.aws.{name}"
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as exc:
        if exc.name != path:  # the module is there; something it imports is not
            raise
        raise VhvError(f"{where}: there is no reader module validator/aws/{name}.py") from None


def load() -> tuple[dict[str, Reader], dict[str, Callable[[Reading], None]]]:
    """Every reader the catalogue names, by its MODULE.NAME; and, by AWS service, what remediate
    reads last for the modules that declare it (LAST_FOR_FIX: the guide's resources that lost
    their Name, found by what the others point at)."""
    readers: dict[str, Reader] = {}
    last: dict[str, Callable[[Reading], None]] = {}
    for k in of_every_recipe():
        if not k.reader or k.reader in readers:
            continue
        where = f"{directory() / CATALOGUE}: kinds.{k.key}: reader {k.reader!r}"
        module_name, _, name = k.reader.partition(".")
        module = _module(module_name, where)
        declared: dict[str, Reader] = getattr(module, "READERS", {})
        if name not in declared:
            known = ", ".join(f"{module_name}.{n}" for n in declared) or "none"
            raise VhvError(f"{where} is not a reader of validator/aws/{module_name}.py (its READERS: {known})")
        readers[k.reader] = declared[name]
        if getattr(module, "LAST_FOR_FIX", None):
            last[declared[name].service] = module.LAST_FOR_FIX  # type: ignore[attr-defined]
    for key, reader in readers.items():
        for read in (reader.read, *reader.more, *reader.fix):
            if read.after and read.after not in readers:
                raise VhvError(
                    f"{directory() / CATALOGUE}: reader {key!r} reads after {read.after!r}, which no kind names"
                )
    return readers, last


READERS, LAST_FOR_FIX = load()
