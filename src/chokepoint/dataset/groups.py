"""Elements and product groups: what each commodity contains, and group rows split into members.

Every commodity lists the chemical ``elements`` it contains (``ree_oxide_dy`` → Dy; a Dy/Tb-grade
sintered NdFeB magnet → Nd Pr Dy Tb; ``gallium`` → Ga) and its ``product_group``: the code under
which trade and production statistics report it (``ree_oxide`` for every separated oxide,
``ndfeb_magnet`` for HS 850511, all metal permanent magnets). A control on named elements covers
exactly the commodities containing one of them (:func:`covered_commodities`).

Statistics report groups, the network works per member. Until the base year is reconciled against
group targets, :func:`split_group_rows` turns each production, trade, stock and reserve row filed
under a group into one row per member, at the member's share of the group in ``group_shares``
(the row's own region where the table gives one, else the world split ``WLD``). The split rows
are marked (basis ``derived``, note starting with :data:`SPLIT_NOTE`) and made afresh whenever a
dataset is built, so layering a new group figure replaces them; a member row given explicitly
wins over the split.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from chokepoint.schema import schema

__all__ = [
    "ELEMENT_SYMBOLS",
    "SPLIT_NOTE",
    "as_filed",
    "commodity_elements",
    "covered_commodities",
    "element_symbol",
    "group_members",
    "member_shares",
    "split_group_rows",
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

#: How a row made by :func:`split_group_rows` starts its note.
SPLIT_NOTE = "split from product group"

#: Tables whose rows may be filed under a product group: the region that decides the split, and
#: the quantities scaled by the member's share.
_SPLIT: dict[str, tuple[str, tuple[str, ...]]] = {
    "production": ("region_id", ("production_t",)),
    "trade": ("exporter_id", ("quantity_t", "value_usd")),
    "stocks": ("region_id", ("quantity_t",)),
    "reserves": ("region_id", ("reserves_t",)),
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


def as_filed(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` without the rows :func:`split_group_rows` made (the rows as the dataset files
    them: what cross-table checks judge)."""
    if "note" not in table or "basis" not in table or table.empty:
        return table
    made = table["basis"].eq("derived").fillna(False) & table["note"].str.startswith(SPLIT_NOTE).fillna(False)
    return table[~made.to_numpy(dtype=bool)]


def split_group_rows(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``tables`` with every production, trade, stock and reserve row filed under a product group
    (a ``product_group`` that is not itself a commodity) also given as one row per member:
    quantities × the member's share (``group_shares``: the row's region, else ``WLD``). Rows a
    previous split made are dropped first; a member row given explicitly is kept over the split.
    The group rows stay, for whatever reads reported statistics."""
    com, shares = tables["commodities"], tables["group_shares"]
    groups = set(group_members(com)) - set(com["commodity_id"])
    out = dict(tables)
    for table, (region_col, quantities) in _SPLIT.items():
        df = tables[table]
        if df.empty:
            continue
        df = as_filed(df)
        rows = df[df["commodity_id"].isin(groups)]
        if rows.empty or shares.empty:
            out[table] = df
            continue
        own = set(zip(shares["product_group"], shares["region_id"], strict=True))
        keyed = rows.assign(
            _line=rows.index,
            _group=rows["commodity_id"],
            _region=[
                r if (g, r) in own else WORLD for g, r in zip(rows["commodity_id"], rows[region_col], strict=True)
            ],
        )
        split = keyed.merge(
            shares.rename(columns={"commodity_id": "_member", "source_id": "_share_source", "note": "_share_note"})[
                ["product_group", "region_id", "_member", "share", "_share_source"]
            ].rename(columns={"product_group": "_group", "region_id": "_region"}),
            on=["_group", "_region"],
        )
        if table == "production":
            split["share"] = _world_from_countries(split)
        for q in quantities:
            split[q] = split[q] * split["share"]
        split["note"] = (
            f"{SPLIT_NOTE} "
            + split["_group"]
            + " by "
            + split["_member"]
            + "'s share "
            + split["share"].map("{:.4g}".format)
            + " ("
            + split["_region"]
            + ", group_shares; "
            + split["_share_source"]
            + ")"
        )
        split = (
            split.assign(commodity_id=split["_member"], basis="derived")
            .set_index("_line")
            .rename_axis(str(df.index.name) if df.index.name else None)
        )
        key = schema(table).key
        explicit = pd.MultiIndex.from_frame(df[key].astype(str))
        split = split[~pd.MultiIndex.from_frame(split[key].astype(str)).isin(explicit)]
        # all-empty columns left out of the concat (pandas would warn on them) and put back after
        parts = [f.dropna(axis=1, how="all") for f in (df, split[df.columns])]
        out[table] = pd.concat(parts).reindex(columns=df.columns).astype(df.dtypes.to_dict())
    return out


def _world_from_countries(split: pd.DataFrame) -> pd.Series:
    """Member shares of each world-total (``WLD``) production row: the members' sum over the
    year's country rows where the group splits by region, so members' countries never add up to
    more than their world total; the world split of ``group_shares`` otherwise."""
    countries = split[split["region_id"] != WORLD]
    weighted = countries["production_t"] * countries["share"]
    by_member = weighted.groupby([countries["_group"], countries["year"], countries["_member"]]).sum()
    by_group = by_member.groupby(level=["_group", "year"]).transform("sum")
    mix = (by_member / by_group.where(by_group > 0)).dropna()
    regional = set(countries.loc[countries["_region"] != WORLD, "_group"])
    world = split["region_id"].eq(WORLD) & split["_group"].isin(regional)
    key = pd.MultiIndex.from_frame(split[["_group", "year", "_member"]])
    derived = pd.Series(mix.reindex(key).to_numpy(), index=split.index)
    return split["share"].where(~world, derived.fillna(0.0))
