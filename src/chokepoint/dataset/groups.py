"""Elements and product groups: what each commodity contains, and group rows split into members.

Every commodity lists the chemical ``elements`` it contains (``ree_oxide_dy`` → Dy; a Dy/Tb-grade
sintered NdFeB magnet → Nd Pr Dy Tb; ``gallium`` → Ga) and its ``product_group``: the code under
which trade and production statistics report it (``ree_oxide`` for every separated oxide,
``ndfeb_magnet`` for HS 850511, all metal permanent magnets). A control on named elements covers
exactly the commodities containing one of them (:func:`covered_commodities`).

Statistics report groups, the network works per member. A production or trade row filed under a
group is a target on the sum of its members in the base-year fit (:mod:`chokepoint.baseyear`);
``group_shares`` (each member's share of its group, by region or for the world ``WLD``) adds
derived targets per member that guide how the fit divides the group (:func:`member_shares`).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

__all__ = [
    "ELEMENT_SYMBOLS",
    "RARE_EARTHS",
    "commodity_elements",
    "covered_commodities",
    "element_symbol",
    "group_members",
    "member_shares",
]

#: The 118 element symbols (IUPAC), in atomic-number order.
_PERIODIC_TABLE = """
H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br
Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho
Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es
Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og
"""
ELEMENT_SYMBOLS: tuple[str, ...] = tuple(_PERIODIC_TABLE.split())
_BY_FOLD = {s.casefold(): s for s in ELEMENT_SYMBOLS}
#: The 17 rare-earth elements, symbol → name (the ``material`` of the EU CRM tables): the
#: lanthanides in atomic order, then scandium and yttrium.
RARE_EARTHS: dict[str, str] = {
    "La": "lanthanum",
    "Ce": "cerium",
    "Pr": "praseodymium",
    "Nd": "neodymium",
    "Pm": "promethium",
    "Sm": "samarium",
    "Eu": "europium",
    "Gd": "gadolinium",
    "Tb": "terbium",
    "Dy": "dysprosium",
    "Ho": "holmium",
    "Er": "erbium",
    "Tm": "thulium",
    "Yb": "ytterbium",
    "Lu": "lutetium",
    "Sc": "scandium",
    "Y": "yttrium",
}

WORLD = "WLD"


def element_symbol(text: str) -> str | None:
    """The element symbol ``text`` names, in any case (``dy`` → ``Dy``); ``None`` if none."""
    return _BY_FOLD.get(text.strip().casefold())


def commodity_elements(commodities: pd.DataFrame) -> dict[str, frozenset[str]]:
    """Commodity → the element symbols it contains (empty where the table lists none)."""
    column = commodities["elements"] if "elements" in commodities else pd.Series(pd.NA, index=commodities.index)
    return {
        str(k): frozenset(s for s in (element_symbol(t) for t in str(v).split()) if s) if pd.notna(v) else frozenset()
        for k, v in zip(commodities["commodity_id"], column, strict=True)
    }


def covered_commodities(commodities: pd.DataFrame, elements: Iterable[str]) -> frozenset[str]:
    """The commodities a control on ``elements`` covers: those containing any of them (matched
    case-insensitively), and those whose content the table does not list (covered in full, as
    a control on a product of unknown content would be applied at the border)."""
    named = {s for s in (element_symbol(e) for e in elements) if s}
    return frozenset(k for k, have in commodity_elements(commodities).items() if not have or have & named)


def group_members(commodities: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Product group → its member commodities (stage order); a commodity reported under its own
    code is a group of one. A missing ``product_group`` means the commodity's own code."""
    com = commodities.sort_values("stage_order", kind="stable")
    group = com["product_group"].fillna(com["commodity_id"]) if "product_group" in com else com["commodity_id"]
    out: dict[str, list[str]] = {}
    for g, k in zip(group, com["commodity_id"], strict=True):
        out.setdefault(str(g), []).append(str(k))
    return {g: tuple(ks) for g, ks in out.items()}


def member_shares(group_shares: pd.DataFrame, group: str, region: str = WORLD) -> pd.Series:
    """Each member's share of ``group`` in ``region`` (its own rows, else the world's), indexed by
    commodity_id; empty when ``group_shares`` has neither."""
    rows = group_shares[group_shares["product_group"] == group]
    own = rows[rows["region_id"] == region]
    use = own if len(own) else rows[rows["region_id"] == WORLD]
    return use.set_index("commodity_id")["share"].astype(float)
