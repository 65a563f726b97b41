"""Writing outputs atomically, and never over what Chokepoint did not write.

A folder or file appears complete, or not at all. Every folder written here carries a manifest
(:data:`MANIFEST`); an existing folder is replaced only when it carries one (or is empty), so a
mistyped ``--out`` or scenario name refuses instead of deleting someone's files. Temporary
entries are named ``.<target>.<random>.chokepoint-tmp`` (``-old`` while a replaced folder is
removed); those a killed process left behind are removed on a later write to the same folder.
A single output file (a workbook, a report) carries its manifest beside it, in the hidden
``.<file>.chokepoint.json`` with the SHA-256 of what was written: an existing file is replaced only
when it is still exactly what Chokepoint wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from chokepoint.errors import ChokepointError

__all__ = [
    "MANIFEST",
    "STALE_AFTER_S",
    "atomic_file",
    "atomic_folder",
    "check_file_target",
    "check_folder_name",
    "check_target",
    "file_manifest",
]

#: The file marking a folder as written by Chokepoint (kind, version, created).
MANIFEST = "chokepoint.json"
#: Temporary entries untouched for this long belong to a dead writer (a live one keeps writing
#: files into them, which refreshes their times).
STALE_AFTER_S = 600.0

_TMP = ".chokepoint-tmp"
_SIDECAR = ".chokepoint.json"
_OLD = ".chokepoint-old"
#: A name that is one folder (no separators, not ``.``/``..``), safe on every file system.
_FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_folder_name(name: str) -> str:
    """``name`` if it can be used as one folder name (``runs/<name>``); ValueError otherwise."""
    if not _FOLDER_NAME.fullmatch(name):
        raise ValueError(
            "is used as the run folder runs/<name>: use up to 100 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit (e.g. china-2025-licensing)"
        )
    return name


def _absolute(out: Path) -> Path:
    if Path(out) == Path():  # '' and '.': the current folder holds the user's files, and is no output
        raise ChokepointError(f"{str(out) or repr('')}: is the current folder; give a new folder or file name")
    # lexical, not resolve(): a symbolic link at ``out`` must stay visible as one
    absolute = Path(os.path.abspath(out))
    if not absolute.name:
        raise ChokepointError(f"{str(out) or repr('')}: is the root folder; choose another --out")
    return absolute


def check_target(out: Path) -> None:
    """Refuse ``out`` unless it is missing, an empty folder, or a folder Chokepoint wrote.

    Cheap and side-effect free, so commands call it before long work; :func:`atomic_folder`
    calls it again just before replacing.
    """
    absolute = _absolute(out)
    if absolute.is_symlink():
        raise ChokepointError(f"{out}: is a symbolic link; give a real folder with --out, or remove the link yourself")
    if not absolute.exists():
        return
    if not absolute.is_dir():
        raise ChokepointError(f"{out}: is a file; give a folder to write into")
    try:
        if (absolute / MANIFEST).is_file() or not any(absolute.iterdir()):
            return
    except OSError as exc:
        raise ChokepointError(f"{out}: cannot read the folder ({exc.strerror}); choose another --out") from None
    raise ChokepointError(
        f"{out}: exists and was not written by Chokepoint (no {MANIFEST}); "
        "write elsewhere with --out, or remove the folder yourself"
    )


def _parent(out: Path) -> Path:
    """The folder ``out`` goes into, created if missing (``runs/`` on a first run)."""
    parent = out.parent
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
def _writable(out: Path) -> Iterator[None]:
    """File-system refusals (a read-only folder, a full disk) as one line naming ``out``."""
    try:
        yield
    except OSError as exc:
        raise ChokepointError(f"{out}: cannot write ({exc.strerror}); choose another --out") from None


def _last_touched(path: Path) -> float:
    """The newest modification time of ``path`` and, for a folder, of what is directly in it."""
    times = [path.lstat().st_mtime]
    if path.is_dir() and not path.is_symlink():
        times += [child.lstat().st_mtime for child in path.iterdir()]
    return max(times)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _ours(entry: str, name: str) -> bool:
    """Whether ``entry`` is a temporary name of ours: marked, or the unmarked ``.<name>.<8 chars>``
    (``.<name>.old.<8 chars>``) that earlier versions made with mkdtemp for the target ``name``."""
    if entry.startswith(".") and (entry.endswith((_TMP, _OLD)) or f"{_TMP}." in entry):
        return True
    legacy = rf"\.{re.escape(name)}\.(old\.)?[a-z0-9_]{{8}}({re.escape(Path(name).suffix)})?"
    return re.fullmatch(legacy, entry) is not None


def _clean_stale(parent: Path, name: str) -> None:
    """Remove our temporary entries in ``parent`` that a killed writer left (and nothing else)."""
    now = time.time()
    try:
        entries = list(parent.iterdir())
    except OSError:  # unreadable: nothing we can clean, and writing will say why it fails
        return
    for entry in entries:
        if _ours(entry.name, name):
            try:
                if now - _last_touched(entry) > STALE_AFTER_S:
                    _remove(entry)
            except OSError:  # gone already (another writer cleaned it) or not ours to remove
                continue


def _fresh(parent: Path, name: str, marker: str, suffix: str = "") -> Path:
    """A new path ``.<name>.<random><marker><suffix>`` in ``parent`` (nothing there yet)."""
    return parent / f".{name}.{secrets.token_hex(4)}{marker}{suffix}"


def _manifest(kind: str, **extra: str) -> str:
    from chokepoint import __version__

    created = datetime.now(UTC).isoformat(timespec="seconds")
    fields = {"written_by": "chokepoint", "kind": kind, "version": __version__, "created": created, **extra}
    return json.dumps(fields, indent=2)


def file_manifest(out: Path) -> Path:
    """The hidden manifest beside a single output file: ``.<name>.chokepoint.json``."""
    return out.with_name(f".{out.name}{_SIDECAR}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_file_target(out: Path) -> None:
    """Refuse ``out`` unless it is missing or a file Chokepoint wrote and nobody changed since
    (its :func:`file_manifest` holds its SHA-256). Cheap enough to call before long work."""
    absolute = _absolute(out)
    if absolute.is_symlink():
        raise ChokepointError(f"{out}: is a symbolic link; give a real file name, or remove the link yourself")
    if not absolute.exists():
        return
    if absolute.is_dir():
        raise ChokepointError(f"{out}: is a folder; give a file name")
    try:
        recorded = json.loads(file_manifest(absolute).read_text(encoding="utf-8")).get("sha256")
        ours = recorded == _sha256(absolute)
    except (OSError, ValueError, AttributeError):  # no manifest, unreadable, or not JSON: not ours
        ours = False
    if not ours:
        raise ChokepointError(
            f"{out}: exists and was not written by Chokepoint (or was changed since); "
            "write to another file name, or remove the file yourself"
        )


def _replace(tmp: Path, out: Path) -> None:
    """Put the finished ``tmp`` at ``out``, moving a previous Chokepoint folder out of the way."""
    check_target(out)  # again: something may have appeared while we were writing
    if not out.exists():
        tmp.rename(out)
        return
    if not any(out.iterdir()):
        out.rmdir()  # fails (and we stop) if files arrived since the check
        tmp.rename(out)
        return
    old = _fresh(out.parent, out.name, _OLD)
    out.rename(old)
    try:
        tmp.rename(out)
    except OSError:
        old.rename(out)  # put the previous run back rather than leave nothing
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_folder(out: Path, kind: str = "output") -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; on success it replaces ``out`` in one rename.

    ``out`` must be missing, empty or a folder Chokepoint wrote (:func:`check_target`); the new
    folder gets a :data:`MANIFEST` naming ``kind``. An exception (or an interrupt) inside the block
    removes the temporary folder and leaves any existing ``out`` untouched.
    """
    check_target(out)  # before anything is created, naming the folder as the user gave it
    out = _absolute(out)
    parent = _parent(out)
    _clean_stale(parent, out.name)
    tmp = _fresh(parent, out.name, _TMP)
    with _writable(out):
        tmp.mkdir()  # mode from the umask, like any folder the user makes (not mkdtemp's 0700)
    try:
        yield tmp
        with _writable(out):
            (tmp / MANIFEST).write_text(_manifest(kind), encoding="utf-8")
            _replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_file(out: Path, kind: str | None = None) -> Iterator[Path]:
    """Yield a temporary file path beside ``out``; on success it replaces ``out``.

    With ``kind`` the file is an output a user asked for: an existing ``out`` is replaced only if
    Chokepoint wrote it (:func:`check_file_target`), and the new one gets its manifest. Without,
    ``out`` is the project's own (a cache) and is simply replaced.
    """
    if kind is not None:
        check_file_target(out)
    out = _absolute(out)
    parent = _parent(out)
    if out.is_dir():
        raise ChokepointError(f"{out}: is a folder; give a file name")
    _clean_stale(parent, out.name)
    tmp = _fresh(parent, out.name, _TMP, out.suffix)
    with _writable(out):
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # mode from the umask, not 0600
    manifest = _fresh(parent, file_manifest(out).name, _TMP)
    try:
        yield tmp
        with _writable(out):
            if kind is None:
                tmp.replace(out)
                return
            check_file_target(out)  # again: something may have appeared while we were writing
            manifest.write_text(_manifest(kind, file=out.name, sha256=_sha256(tmp)), encoding="utf-8")
            tmp.replace(out)
            manifest.replace(file_manifest(out))
    finally:
        tmp.unlink(missing_ok=True)
        manifest.unlink(missing_ok=True)
