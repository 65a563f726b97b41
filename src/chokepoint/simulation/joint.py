"""Joint products: the element oxides one separation plant yields at once from a concentrate."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from chokepoint.simulation.ratios import ratio

__all__ = ["joint_products", "settle_joint"]

Array = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]


def joint_products(a: Array) -> list[tuple[int, Index]]:
    """``(j, outputs)`` for every input ``j`` that is the only input of two or more outputs: a plant
    separating ``j`` yields all of them at once (a concentrate's element oxides), so their output
    moves together (:func:`settle_joint`)."""
    sole = (a > 0).sum(axis=0) == 1
    out = []
    for j in range(a.shape[0]):
        members = np.flatnonzero(sole & (a[j] > 0))
        if members.size > 1:
            out.append((j, members))
    return out


def settle_joint(plan: Array, base: Array, cap: Array) -> Array:
    """Planned output (m, R, B) of joint products, made proportional to their base-year output
    ``base`` (m, R, 1): the utilisation ``θ = max_i plan_i / base_i`` (the most-wanted product
    sets how much is separated; the others come with it, unsold if nobody orders them), at most
    ``min_i cap_i / base_i``. A product the region did not make in the base year keeps its plan."""
    made = base > 0
    theta = np.where(made, ratio(plan, base, 0.0), 0.0).max(axis=0)
    theta = np.minimum(theta, np.where(made, ratio(cap, base, np.inf), np.inf).min(axis=0))
    return np.where(made, theta[None] * base, plan)
