"""A whole leverage study of a pair: every pathway side by side, the headline, its sensitivity and
break-even values, and the simulated rare-earth cutoff — what ``chokepoint leverage compare`` shows
and a web app would serve.

The rare-earth cutoff losses are the one expensive intermediate (a year of the simulation engine
per coverage): :func:`compare_all` computes them once and passes them to every table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.leverage.compare import ENGAGED, Headline, assumptions_table, comparison_tables, leverage_headline
from chokepoint.leverage.files import load_pathway, shipped_pathways
from chokepoint.leverage.model import (
    LeverageError,
    Pathway,
    SimulatedLosses,
    simulated_cutoffs,
    simulated_losses,
)
from chokepoint.leverage.sensitivity import break_even, global_sensitivity, sensitivity

__all__ = ["Comparison", "check_regions", "compare_all", "pathways_to_compare", "with_horizon"]


@dataclass(frozen=True)
class Comparison:
    """A leverage study of ``a`` and ``b``: the pathways compared, the tables by name
    (``comparison``, ``balance``, ``deterrence``, ``matrix``, ``ladder``, ``sensitivity``,
    ``global_sensitivity`` and ``global_verdict`` (Sobol, every parameter at once), ``thresholds``,
    ``rare_earth_cutoff``, ``assumptions``, ``headline``) and the headline."""

    a: str
    b: str
    pathways: tuple[Pathway, ...]
    tables: Mapping[str, pd.DataFrame]
    headline: Headline


def check_regions(ds: Dataset, *regions: str) -> None:
    """Raise a one-line :class:`LeverageError` for a region code the dataset does not know."""
    known = set(ds["regions"]["region_id"].astype(str))
    for region in regions:
        if region not in known:
            raise LeverageError(f"unknown region {region!r}; use an ISO3 code from the regions table, e.g. USA or CHN")


def with_horizon(pathway: Pathway, horizon: int | None) -> Pathway:
    """``pathway`` run for ``horizon`` years instead of its own (unchanged for ``None``)."""
    return pathway if horizon is None else pathway.model_copy(update={"horizon_years": horizon})


def pathways_to_compare(extra: Sequence[Path | str] = (), horizon: int | None = None) -> list[Pathway]:
    """The shipped pathways and the files in ``extra``, a file named like a shipped pathway
    replacing it (a user's edited copy), all run for ``horizon`` years if given."""
    by_name = {p.name: p for p in map(load_pathway, shipped_pathways())}
    by_name |= {p.name: p for p in map(load_pathway, extra)}
    return [with_horizon(p, horizon) for p in by_name.values()]


def compare_all(
    ds: Dataset, pathways: Sequence[Pathway], a: str, b: str, losses: SimulatedLosses | None = None
) -> Comparison:
    """Every table of a leverage study of ``a`` and ``b`` under ``pathways``; the headline's
    discount rate and the rare-earth cutoff's pathway are calibrated engagement's (else the first
    pathway's). ``losses``: the pathways' :func:`~chokepoint.leverage.simulated_losses` if already
    at hand (e.g. :func:`chokepoint.leverage.cache.cached_losses`), else simulated here."""
    check_regions(ds, a, b)
    chosen = list(pathways)
    losses = simulated_losses(ds, chosen) if losses is None else losses
    tables = comparison_tables(ds, chosen, a, b, losses)
    tables["sensitivity"] = sensitivity(ds, chosen, a, b, losses=losses)
    found = global_sensitivity(ds, chosen, a, b, losses=losses)
    tables["global_sensitivity"], tables["global_verdict"] = found.indices(), found.summary()
    tables["thresholds"] = break_even(ds, chosen, a, b, losses=losses)
    reference = next((p for p in chosen if p.name == ENGAGED), chosen[0])
    tables["rare_earth_cutoff"] = simulated_cutoffs(ds, reference, a, b, losses)
    tables["assumptions"] = assumptions_table(chosen)
    head = leverage_headline(tables["comparison"], a, b, discount_rate=reference.discount_rate)
    tables["headline"] = head.pathways
    return Comparison(a, b, tuple(chosen), tables, head)
