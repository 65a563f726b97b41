"""Simulated cutoff losses kept on disk between runs, so a warm ``chokepoint leverage compare`` does
not simulate again what an earlier run already did (the simulation and its imports are most of a
cold run).

One file holds the loss tables computed for one dataset under one version of the code: its name is
a digest of the dataset's fingerprint, every source and data file of the package, and the versions
of Python, numpy and pandas. A changed dataset or changed code therefore never reads an old file;
it simulates and writes its own. A file that cannot be read is ignored, one that cannot be written
is skipped: the cache only ever saves time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.files import atomic_file
from chokepoint.leverage.model import LossKey, Pathway, loss_keys, simulate_loss

__all__ = ["cached_losses", "default_cache_dir"]

_PACKAGE = Path(__file__).resolve().parents[1]


def default_cache_dir() -> Path | None:
    """``$CHOKEPOINT_CACHE`` if set (empty: no cache), else ``chokepoint`` in the user's cache folder."""
    env = os.environ.get("CHOKEPOINT_CACHE")
    if env is not None:
        return Path(env).expanduser() if env else None
    import platformdirs

    return Path(platformdirs.user_cache_dir("chokepoint", appauthor=False))


@cache
def _code_digest() -> str:
    digest = hashlib.sha256(f"{sys.version}|{np.__version__}|{pd.__version__}".encode())
    for path in sorted(_PACKAGE.rglob("*")):
        if path.suffix in {".py", ".csv", ".yaml", ".j2"} and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(_PACKAGE)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_file(ds: Dataset, folder: Path) -> Path:
    """The file holding ``ds``'s loss tables under this code."""
    digest = hashlib.sha256(f"{ds.fingerprint}|{_code_digest()}".encode()).hexdigest()[:24]
    return folder / f"leverage-losses-{digest}.pickle"


def cached_losses(ds: Dataset, pathways: Sequence[Pathway], folder: Path | None) -> dict[LossKey, pd.DataFrame]:
    """:func:`~chokepoint.leverage.simulated_losses` of ``pathways``, read from ``folder`` where an
    earlier run left them and simulated (then stored) where not; ``folder`` ``None``: no cache."""
    keys = loss_keys(ds, pathways)
    if folder is None or not keys:
        return {k: simulate_loss(ds, k) for k in keys}
    path = cache_file(ds, folder)
    known = _read(path)
    missing = [k for k in keys if k not in known]
    if missing:
        known |= {k: simulate_loss(ds, k) for k in missing}
        with contextlib.suppress(OSError, ChokepointError):  # a read-only or odd folder: no cache
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_file(path) as tmp:
                tmp.write_bytes(pickle.dumps(known, protocol=pickle.HIGHEST_PROTOCOL))
    return {k: known[k] for k in keys}


def _read(path: Path) -> dict[LossKey, pd.DataFrame]:
    # written by this user's own runs of this code (the name says which); anything else is ignored
    try:
        known = pickle.loads(path.read_bytes())
    except Exception:  # a missing, partial or foreign file: simulate instead
        return {}
    return known if isinstance(known, dict) else {}
