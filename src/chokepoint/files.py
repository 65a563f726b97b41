"""Writing outputs atomically: a folder or file appears complete, or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chokepoint.errors import ChokepointError

__all__ = ["atomic_file", "atomic_folder"]


def _parent(out: Path) -> Path:
    """The folder ``out`` goes into, created if missing (``runs/`` on a first run)."""
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChokepointError(
            f"{out}: cannot create the folder {parent} ({exc.strerror}); choose another --out"
        ) from None
    if not parent.is_dir():
        raise ChokepointError(f"{out}: {parent} is not a folder; choose another --out")
    return parent


@contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; on success it replaces ``out`` in one rename.

    An exception (or an interrupt) inside the block removes the temporary folder and leaves any
    existing ``out`` untouched.
    """
    parent = _parent(out)
    if out.exists() and not out.is_dir():
        raise ChokepointError(f"{out}: is a file; give a folder to write into")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        yield tmp
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            out.rename(old / out.name)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


@contextmanager
def atomic_file(out: Path) -> Iterator[Path]:
    """Yield a temporary file path beside ``out``; on success it replaces ``out``."""
    parent = _parent(out)
    if out.is_dir():
        raise ChokepointError(f"{out}: is a folder; give a file name")
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=out.suffix, dir=parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
