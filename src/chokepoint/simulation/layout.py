"""Look-ups on the flat lane layout (:mod:`~chokepoint.simulation.state`): lanes are sorted by
commodity then origin, so a lane's key ``k·R + origin`` is sorted too."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["lane_rows"]

Index = npt.NDArray[np.intp]
Bools = npt.NDArray[np.bool_]


def lane_rows(lane_key: Index, ks: npt.ArrayLike, origins: npt.ArrayLike, R: int) -> tuple[Index, Bools]:
    """The lanes of commodities ``ks`` from ``origins`` (broadcast together) and which of them
    exist: ``(rows of those found, found)``."""
    keys = np.asarray(ks) * R + np.asarray(origins)
    at = np.searchsorted(lane_key, keys)
    found = (at < len(lane_key)) & (lane_key[np.minimum(at, len(lane_key) - 1)] == keys)
    return at[found].astype(np.intp), found
