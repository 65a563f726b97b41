"""The reconciled base year: every reported figure of a material and year fitted under mass balance.

:mod:`~chokepoint.baseyear.targets` collects the targets (production, trade in tonnes and value,
shares, world totals, final use), :mod:`~chokepoint.baseyear.fit` solves the weighted fit (a QP in
HiGHS) and :mod:`~chokepoint.baseyear.residuals` reports how far each target moved and why.
The network (:mod:`chokepoint.network`) and the simulation's baseline are built from the result.
"""

from chokepoint.baseyear.fit import BaseYear, input_matrix, material_chain, reconcile, reported_capacity
from chokepoint.baseyear.targets import REST_OF_WORLD, WORLD, data_regions, product_groups

__all__ = [
    "REST_OF_WORLD",
    "WORLD",
    "BaseYear",
    "data_regions",
    "input_matrix",
    "material_chain",
    "product_groups",
    "reconcile",
    "reported_capacity",
]
