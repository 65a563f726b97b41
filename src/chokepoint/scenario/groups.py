"""Product-group codes in a scenario resolved to member commodities, in one place.

A scenario may name a product group where it means the statistic's code (``ree_oxide`` for every
separated oxide, ``ndfeb_magnet`` for every metal permanent magnet; ``commodities.product_group``).
:func:`resolve_groups` rewrites the scenario on the group's members before it is planned: a list
of commodities (export controls) or a rate (a disruption's share, recycling and substitution
rates, a producer's cost) applies to every member; a quantity (a stockpile's tonnes, a
project's, an entrant's or an offtake's tonnes a year) is split at each member's base-year share
of the group (``group_shares``: the item's region, else the world's), members without a share
getting none. Observations keep the group code: the simulated figure sums the members' flows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, Self, TypeVar

import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.dataset.groups import group_members, member_shares
from chokepoint.scenario import Scenario

__all__ = ["resolve_groups"]


class _OnCommodity(Protocol):
    commodity: str

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self: ...


M = TypeVar("M", bound=_OnCommodity)


def _split(
    items: Sequence[M],
    groups: Mapping[str, tuple[str, ...]],
    shares: pd.DataFrame,
    quantities: tuple[str, ...] = (),
    region: Callable[[M], str] | None = None,
) -> list[M]:
    """One item per member for each item on a group: ``quantities`` scaled by the member's share
    in the item's ``region`` (members without a share dropped), everything else as it is."""
    out: list[M] = []
    for item in items:
        if item.commodity not in groups:
            out.append(item)
            continue
        share = member_shares(shares, item.commodity, region(item)) if region is not None else None
        for k in groups[item.commodity]:
            if share is None:
                out.append(item.model_copy(update={"commodity": k}))
            elif share.get(k, 0.0) > 0:
                scaled = {q: getattr(item, q) * float(share[k]) for q in quantities if getattr(item, q) is not None}
                out.append(item.model_copy(update={"commodity": k, **scaled}))
    return out


def resolve_groups(scenario: Scenario, ds: Dataset) -> Scenario:
    """``scenario`` with every product-group code replaced by its members (module docs)."""
    com = ds["commodities"]
    chain = set(com.loc[com["material"] == scenario.material, "commodity_id"])
    groups = {g: ks for g, ks in group_members(com).items() if g not in chain and set(ks) <= chain}
    if not groups:
        return scenario
    shares = ds["group_shares"]
    controls = [
        c.model_copy(update={"commodities": list(dict.fromkeys(m for k in c.commodities for m in groups.get(k, (k,))))})
        for c in scenario.export_controls
    ]
    return scenario.model_copy(
        update={
            "export_controls": controls,
            "disruptions": _split(scenario.disruptions, groups, shares),
            "recycling": _split(scenario.recycling, groups, shares),
            "substitution": _split(scenario.substitution, groups, shares),
            "price_floors": _split(scenario.price_floors, groups, shares),
            "stockpiles": _split(
                scenario.stockpiles, groups, shares, ("stock_t", "max_release_t_per_month"), lambda s: s.region
            ),
            "projects": _split(
                scenario.projects, groups, shares, ("capacity_t_per_yr", "cost_usd"), lambda p: p.region
            ),
            "offtakes": _split(scenario.offtakes, groups, shares, ("quantity_t_per_yr",), lambda o: o.seller),
            "supply_response": scenario.supply_response.model_copy(
                update={
                    "entrants": _split(
                        scenario.supply_response.entrants, groups, shares, ("capacity_t_per_yr",), lambda e: e.region
                    ),
                    "costs": _split(scenario.supply_response.costs, groups, shares),
                }
            ),
        }
    )
