"""Safe quotients the engine takes everywhere (shares of what a buyer wanted, of capacity …)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["ratio", "ratio_upto_1"]

Array = npt.NDArray[np.float64]


def ratio(num: Array, den: Array, default: float) -> Array:
    """``num / den`` where ``den > 0``, else ``default``. (Plain passes: a ufunc with ``where=`` runs
    an unvectorised masked loop, about ten times slower.)"""
    positive = den > 0
    return np.where(positive, num / np.where(positive, den, 1.0), default)


def ratio_upto_1(num: Array, den: Array, default: float) -> Array:
    """``min(num / den, 1)`` where ``den > 0``, else ``default``, as ``min(num, den) / den``: a
    subnormal ``den`` (1e-310 t) cannot overflow the quotient (``num / den`` would)."""
    return ratio(np.minimum(num, den), den, default)
