"""Every reported figure of one material and year as a *target*: a linear functional of the fit's
variables, a reported value, and the weight its basis and quality earn.

Variables (see :class:`Layout`): production ``x[r, k]``, final use ``y[r, k]`` and bilateral flows
``f[o, d, k]`` (o ≠ d) over the material's regions R and commodities K. A target is one row of
:attr:`Targets.table` and its terms (``target``, ``var``, ``coef``) in :attr:`Targets.terms`:

- ``production``: ``Σ_{k∈g} x[r, k] = production_t`` (a ``product_group`` g sums its members);
  ``world_production`` (region WLD): ``Σ_r Σ_{k∈g} x[r, k]``.
- ``trade_quantity``: ``Σ_{k∈g} f[o, d, k] = quantity_t``; importer WLD sums over destinations
  (an exporter's total exports), exporter WLD over origins (an importer's total imports).
- ``trade_value``: the same functional = ``value_usd / uv`` with ``uv`` the exporter's unit value
  to the world that year (else the commodity's world unit value), so value-only rows count.
- ``trade_share``: where a source gives an importer's total (exporter WLD) next to its partners,
  ``Σ_{k∈g} (uv_o·f[o, d, k] − s·Σ_o' uv_o'·f[o', d, k]) = 0`` with ``s`` the partner's share (by
  value where both rows have one, then ``uv`` weights each origin; else by quantity, uv = 1).
- ``final_use`` (sense ``≥``): ``y[r, k] ≥ Σ_sector activity × intensity`` (named sectors; the world
  remainder of a sector is ROW's): sectors the data do not name take the rest.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.baseyear.members import MEMBER_KIND, member_production
from chokepoint.dataset import Dataset, read_table_csv

__all__ = [
    "REST_OF_WORLD",
    "WORLD",
    "Layout",
    "Targets",
    "collect_targets",
    "data_regions",
    "named_final_use",
    "product_groups",
    "quality_of",
    "target_weights",
]

#: The dataset's aggregate codes for the world total and for the world remainder of named regions.
WORLD = "WLD"
REST_OF_WORLD = "ROW"
#: Quality a row without a ``quality`` column is given, by basis.
_QUALITY_BY_BASIS = {"reported": "primary", "derived": "secondary", "assumption": "weak"}
_TARGET_COLUMNS = [
    "target_id",
    "kind",
    "sense",
    "region_id",
    "partner_id",
    "commodity_id",
    "source_id",
    "basis",
    "quality",
    "reported",
    "unit",
]


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat`` of the non-empty frames (the first one's columns when all are empty)."""
    full = [f for f in frames if not f.empty]
    return pd.concat(full, ignore_index=True) if full else frames[0].iloc[0:0].reset_index(drop=True)


def data_regions(ds: Dataset, commodities: list[str] | set[str] | tuple[str, ...]) -> set[str]:
    """Every region with a row about ``commodities`` in any table and any year: production, trade
    (either side), reserves, stocks, facilities, element content, and the activity or unit value
    of a sector that uses one of them; plus :data:`REST_OF_WORLD` where the dataset defines it
    (the baseline gives it the world remainder of named sectors). :data:`WORLD` is not a region."""
    ks = set(commodities) | set(product_groups(ds, commodities)["group_id"])
    found: set[str] = set()
    for table in ("production", "reserves", "stocks", "facilities", "element_content"):
        df = ds[table]
        found |= set(df.loc[df["commodity_id"].isin(ks), "region_id"])
    trade = ds["trade"][ds["trade"]["commodity_id"].isin(ks)]
    found |= {*trade["exporter_id"], *trade["importer_id"]}
    uses = set(ds["intensities"].loc[ds["intensities"]["commodity_id"].isin(ks), "sector_id"])
    for table in ("sector_activity", "sector_values"):
        df = ds[table]
        found |= set(df.loc[df["sector_id"].isin(uses), "region_id"])
    if (ds["regions"]["region_id"] == REST_OF_WORLD).any():
        found.add(REST_OF_WORLD)
    return {str(r) for r in found if isinstance(r, str)} - {WORLD}


def product_groups(ds: Dataset, commodities: list[str] | set[str] | tuple[str, ...]) -> pd.DataFrame:
    """(group_id, commodity_id) for ``commodities``: the code statistics report each under
    (``commodities.product_group``; a commodity without one is its own group)."""
    com = ds["commodities"]
    com = com[com["commodity_id"].isin(list(commodities))]
    group = com["product_group"] if "product_group" in com.columns else com["commodity_id"]
    group = group.fillna(com["commodity_id"]).where(group.fillna("") != "", com["commodity_id"])
    own = pd.DataFrame({"group_id": com["commodity_id"], "commodity_id": com["commodity_id"]})
    grouped = pd.DataFrame({"group_id": group, "commodity_id": com["commodity_id"]})
    # A commodity is always a target of its own; its group adds the sum over the members.
    return concat([own, grouped]).drop_duplicates().astype(str).reset_index(drop=True)


def quality_of(df: pd.DataFrame) -> pd.Series:
    """The ``quality`` of each row, or the one its basis implies where the column is absent or empty."""
    implied = df["basis"].map(_QUALITY_BY_BASIS).fillna("weak")
    if "quality" not in df.columns:
        return implied.astype(str)
    return df["quality"].astype("string").fillna(implied).where(df["quality"].fillna("") != "", implied).astype(str)


@functools.cache
def _shipped_weights() -> pd.DataFrame:
    text = resources.files("chokepoint").joinpath("data", "target_weights.csv").read_text(encoding="utf-8")
    return read_table_csv("target_weights", "chokepoint/data/target_weights.csv", text)


def target_weights(ds: Dataset) -> pd.DataFrame:
    """The fit's weight per (target kind, basis, quality) and the priors' (basis ``prior``): the
    dataset's ``target_weights``, or the shipped ones where it has none."""
    weights = ds["target_weights"]
    return _shipped_weights() if weights.empty else weights


@dataclass(frozen=True)
class Layout:
    """Positions of the fit's variables: ``x`` then ``y`` (both R × K, row-major) then the lanes
    ``f`` (one per allowed (origin, destination, commodity)), then one residual per target."""

    regions: pd.Index
    commodities: pd.Index
    #: Allowed lanes: origin, destination, commodity codes and positions (o, d, k).
    lanes: pd.DataFrame

    @property
    def R(self) -> int:
        return len(self.regions)

    @property
    def K(self) -> int:
        return len(self.commodities)

    @property
    def n_flows(self) -> int:
        return len(self.lanes)

    @property
    def n(self) -> int:
        """Number of physical variables (x, y, f)."""
        return 2 * self.R * self.K + self.n_flows

    def x(self, r: npt.NDArray[np.intp], k: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
        return np.asarray(r * self.K + k, dtype=np.intp)

    def y(self, r: npt.NDArray[np.intp], k: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
        return np.asarray(self.R * self.K + r * self.K + k, dtype=np.intp)

    @cached_property
    def lane_var(self) -> npt.NDArray[np.intp]:
        """(R, R, K) → variable position of the lane, −1 where the lane is not allowed."""
        out = np.full((self.R, self.R, self.K), -1, dtype=np.intp)
        out[self.lanes["o"], self.lanes["d"], self.lanes["k"]] = 2 * self.R * self.K + np.arange(self.n_flows)
        return out


@dataclass(frozen=True)
class Targets:
    """Targets of one material and year: one row each in ``table`` (with ``weight``, ``scale``),
    their linear terms (``target`` position, ``var`` position, ``coef``) in ``terms``."""

    layout: Layout
    table: pd.DataFrame
    terms: pd.DataFrame


def allowed_lanes(
    regions: pd.Index, commodities: pd.Index, prod: pd.DataFrame, trade: pd.DataFrame, dest: pd.DataFrame
) -> pd.DataFrame:
    """Every (origin, destination, commodity) with o ≠ d whose origin can supply the commodity (it
    produces it, or some row (trade or share) has it export it, or it is :data:`REST_OF_WORLD`) and
    whose destination has a use for it (``dest``: region_id, commodity_id; see :func:`_destinations`),
    so the fit can place a lane no statistic reports (penalised toward zero)."""
    made = prod[["region_id", "commodity_id"]]
    sent = trade[["exporter_id", "commodity_id"]].rename(columns={"exporter_id": "region_id"})
    row = pd.DataFrame({"region_id": REST_OF_WORLD, "commodity_id": list(commodities)})
    origins = concat([made, sent, row]).drop_duplicates()
    origins = origins.assign(
        o=regions.get_indexer(pd.Index(origins["region_id"])),
        k=commodities.get_indexer(pd.Index(origins["commodity_id"])),
    )
    origins = origins[(origins["o"] >= 0) & (origins["k"] >= 0)]
    dest = dest.drop_duplicates()
    dest = dest.assign(
        d=regions.get_indexer(pd.Index(dest["region_id"])), k=commodities.get_indexer(pd.Index(dest["commodity_id"]))
    )
    lanes = origins[["o", "k"]].merge(dest[(dest["d"] >= 0) & (dest["k"] >= 0)][["d", "k"]], on="k")
    lanes = lanes[lanes["o"] != lanes["d"]].sort_values(["k", "o", "d"]).reset_index(drop=True)
    return lanes.assign(
        origin_id=regions[lanes["o"]].to_numpy(),
        destination_id=regions[lanes["d"]].to_numpy(),
        commodity_id=commodities[lanes["k"]].to_numpy(),
    )[["origin_id", "destination_id", "commodity_id", "o", "d", "k"]]


def _destinations(ds: Dataset, ks: list[str], made: pd.DataFrame, bought: pd.DataFrame, year: int) -> pd.DataFrame:
    """(region_id, commodity_id) that may receive a commodity: an importer some trade or share row
    names (``bought``), a maker of a product it is an input of (``made``: region_id, commodity_id
    of the production rows, members included), a region with named final use of it, and
    :data:`REST_OF_WORLD` (the world remainder). Any other region would only take unreported
    final use, which the prior keeps where it is made: leaving those lanes out keeps the
    element-resolved fit (~40 commodities) small without changing what it can reproduce."""
    rec = ds["recipes"][ds["recipes"]["input_commodity_id"].isin(ks)]
    inputs = made.merge(rec, left_on="commodity_id", right_on="output_commodity_id", suffixes=("_m", ""))
    use = named_final_use(ds, ks, year)
    return concat(
        [
            bought[["region_id", "commodity_id"]],
            pd.DataFrame({"region_id": inputs["region_id"], "commodity_id": inputs["input_commodity_id"]}),
            use[["region_id", "commodity_id"]],
            pd.DataFrame({"region_id": REST_OF_WORLD, "commodity_id": ks}),
        ]
    ).astype(str)


def _unit_values(trade: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """USD/t by (exporter, commodity) from exporters' totals to WLD, and by commodity over every
    row with both quantity and value (the fallback)."""
    both = trade[trade["quantity_t"].gt(0) & trade["value_usd"].gt(0)]
    world = both[both["importer_id"] == WORLD]
    by_exporter = (
        world.groupby(["exporter_id", "commodity_id"])["value_usd"].sum()
        / world.groupby(["exporter_id", "commodity_id"])["quantity_t"].sum()
    )
    overall = both.groupby("commodity_id")["value_usd"].sum() / both.groupby("commodity_id")["quantity_t"].sum()
    return by_exporter, overall


def _exporter_uv(trade: pd.DataFrame, exporter: pd.Series, commodity: pd.Series) -> npt.NDArray[np.float64]:
    by_exporter, overall = _unit_values(trade)
    key = pd.MultiIndex.from_arrays([exporter.astype(str), commodity.astype(str)])
    uv = by_exporter.reindex(key).to_numpy(dtype=float)
    fallback = overall.reindex(commodity.astype(str)).to_numpy(dtype=float)
    return np.where(np.isnan(uv), fallback, uv)


def _trade_rows(trade: pd.DataFrame) -> pd.DataFrame:
    """Quantity and value targets of every trade row (value → tonnes at the exporter's unit value)."""
    rows = trade.assign(quality=quality_of(trade), reporter=trade.get("reporter_id", pd.Series("", trade.index)))
    rows["reporter"] = rows["reporter"].fillna("")
    qty = rows[rows["quantity_t"].notna()].assign(kind="trade_quantity", reported=lambda d: d["quantity_t"])
    uv = _exporter_uv(trade, rows["exporter_id"], rows["commodity_id"])
    # Where tonnes are reported they are the measurement; the value at a unit value would be a
    # second, noisier estimate of the same tonnes (unit values differ by product and grade).
    val = rows.assign(kind="trade_value", reported=rows["value_usd"] / uv, uv=uv)
    val = val[val["value_usd"].gt(0) & np.isfinite(val["reported"]) & val["quantity_t"].isna()]
    val = val.assign(basis="derived")  # tonnes from value at a unit value: derived from the row
    return concat([qty, val])


def _share_rows(shares: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """``trade_shares`` rows, once per member commodity (``a+b`` covers the sum of a and b)."""
    rows = shares.assign(reported=shares["share"].astype(float), by_value=shares["measure"] == "value")
    rows = rows.assign(code=rows["commodity_id"].str.split("+")).explode("code")
    members = groups.rename(columns={"group_id": "code", "commodity_id": "k_id"})
    return rows.merge(members, on="code")


def named_final_use(ds: Dataset, ks: list[str], year: int) -> pd.DataFrame:
    """Activity × intensity per (region, commodity), t/yr, of the sectors the data name; an
    aggregate's members are dropped where it reports the sector; the world remainder is ROW's."""
    uses = ds["intensities"][ds["intensities"]["commodity_id"].isin(ks)]
    act = ds["sector_activity"]
    act = act[(act["year"] == year) & act["sector_id"].isin(uses["sector_id"])]
    reported = act[act["region_id"] != WORLD]
    members = ds["regions"].dropna(subset=["members"])
    member_of = {
        m: agg for agg, text in zip(members["region_id"], members["members"], strict=True) for m in str(text).split()
    }
    agg_rows = set(zip(reported["region_id"], reported["sector_id"], strict=True))
    covered = [
        (member_of.get(r), s) in agg_rows for r, s in zip(reported["region_id"], reported["sector_id"], strict=True)
    ]
    reported = reported[~np.asarray(covered, dtype=bool)]
    world = act[act["region_id"] == WORLD].set_index("sector_id")["activity"]
    rest = (world - reported.groupby("sector_id")["activity"].sum().reindex(world.index).fillna(0.0)).clip(lower=0)
    activity = pd.concat(
        [
            reported[["region_id", "sector_id", "activity", "source_id", "basis"]],
            rest.rename("activity").reset_index().assign(region_id=REST_OF_WORLD, source_id="", basis="derived"),
        ]
    )
    demand = activity.merge(
        uses[["sector_id", "commodity_id", "intensity_kg_per_unit", "basis"]], on="sector_id", suffixes=("", "_i")
    )
    demand["final_t_per_yr"] = demand["activity"] * demand["intensity_kg_per_unit"] / 1000.0
    return demand[demand["final_t_per_yr"] > 0].reset_index(drop=True)


def _with_members(rows: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """Each row once per member of its ``commodity_id`` read as a product group (column ``k_id``)."""
    members = groups.rename(columns={"group_id": "commodity_id", "commodity_id": "k_id"})
    return rows.merge(members, on="commodity_id")


def _lane_terms(rows: pd.DataFrame, lanes: pd.DataFrame, coef: str = "coef") -> pd.DataFrame:
    """(target, var, coef) of trade functionals: rows name exporter, importer and member ``k_id``;
    WLD on either side sums over every lane on that side."""
    out = []
    for o_world, d_world, on in (
        (False, False, ["origin_id", "destination_id", "commodity_id"]),
        (False, True, ["origin_id", "commodity_id"]),
        (True, False, ["destination_id", "commodity_id"]),
    ):
        part = rows[((rows["exporter_id"] == WORLD) == o_world) & ((rows["importer_id"] == WORLD) == d_world)]
        part = part.rename(columns={"exporter_id": "origin_id", "importer_id": "destination_id"})
        part = part.drop(columns=["commodity_id"]).rename(columns={"k_id": "commodity_id"})
        merged = part[["target", *on, coef]].merge(lanes[[*on, "var"]], on=on)
        out.append(merged[["target", "var", coef]].rename(columns={coef: "coef"}))
    return concat(out)


def _share_terms(shares: pd.DataFrame, lanes: pd.DataFrame, trade: pd.DataFrame) -> pd.DataFrame:
    """``uv_o·f[o, d, k] − s·Σ_o' uv_o'·f[o', d, k]`` for each share target (uv = 1 by quantity)."""
    uv_own = np.where(np.isnan(shares["uv_own"]), 1.0, shares["uv_own"])
    num = shares.assign(coef=np.where(shares["by_value"], uv_own, 1.0))
    terms = [_lane_terms(num, lanes)]
    den = shares[["target", "importer_id", "code", "k_id", "reported", "by_value"]].rename(
        columns={"importer_id": "destination_id", "code": "group_id"}
    )
    den = den.rename(columns={"k_id": "commodity_id"}).merge(
        lanes[["origin_id", "destination_id", "commodity_id", "var"]],
        on=["destination_id", "commodity_id"],
    )
    uv = _exporter_uv(trade, den["origin_id"], den["group_id"])
    uv = np.where(np.isnan(uv), 1.0, uv)
    den_coef = -den["reported"].to_numpy(dtype=float) * np.where(den["by_value"], uv, 1.0)
    terms.append(pd.DataFrame({"target": den["target"], "var": den["var"], "coef": den_coef}))
    return concat(terms)


def _ids(table: pd.DataFrame) -> pd.Series:
    """Readable, unique target ids: kind:region[>partner]:commodity:source (#n where repeated)."""
    pair = table["region_id"] + np.where(table["partner_id"] != "", ">" + table["partner_id"], "")
    base = table["kind"] + ":" + pair + ":" + table["commodity_id"] + ":" + table["source_id"]
    n = base.groupby(base).cumcount()
    return base + np.where(n > 0, "#" + (n + 1).astype(str), "")


def _frame(rows: pd.DataFrame, kind: str, sense: str, region: str, partner: str | None, unit: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": kind,
            "sense": sense,
            "region_id": rows[region].astype(str).to_numpy(),
            "partner_id": rows[partner].astype(str).to_numpy() if partner else "",
            "commodity_id": rows["commodity_id"].astype(str).to_numpy(),
            "source_id": rows["source_id"].fillna("").astype(str).to_numpy(),
            "basis": rows["basis"].astype(str).to_numpy(),
            "quality": quality_of(rows).to_numpy(),
            "reported": rows["reported"].to_numpy(dtype=float),
            "unit": unit,
        }
    )


def _weights(table: pd.DataFrame, weights: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Each target's weight: its (kind, basis, quality) row, else its (any, basis, quality) row,
    else the lowest weight."""
    w = weights[weights["row_basis"] != "prior"].set_index(["target_kind", "row_basis", "quality"])["weight"]
    own = w.reindex(pd.MultiIndex.from_frame(table[["kind", "basis", "quality"]])).to_numpy(dtype=float)
    generic = w.reindex(
        pd.MultiIndex.from_frame(table[["basis", "quality"]].assign(kind="any")[["kind", "basis", "quality"]])
    )
    out = np.where(np.isnan(own), generic.to_numpy(dtype=float), own)
    return np.asarray(np.nan_to_num(out, nan=float(w.min())))


def collect_targets(ds: Dataset, chain: pd.DataFrame, year: int, regions: list[str]) -> Targets:
    """Every reported figure of ``chain`` (commodities of one material, stage order) in ``year``
    as targets over ``regions`` (module docs), with weights from ``target_weights``."""
    ks = list(chain["commodity_id"])
    groups = product_groups(ds, ks)
    codes = set(groups["group_id"])
    index_r, index_k = pd.Index(regions, name="region_id"), pd.Index(ks, name="commodity_id")
    known = set(regions) | {WORLD}
    prod = ds["production"]
    prod = prod[(prod["year"] == year) & prod["commodity_id"].isin(codes) & prod["region_id"].isin(known)]
    trade = ds["trade"]
    trade = trade[(trade["year"] == year) & trade["commodity_id"].isin(codes)]
    trade = trade[trade["exporter_id"].isin(known) & trade["importer_id"].isin(known)]
    trade = trade[(trade["exporter_id"] != trade["importer_id"])]
    shares = ds["trade_shares"]
    shares = shares[
        (shares["year"] == year) & shares["exporter_id"].isin(regions) & shares["importer_id"].isin(regions)
    ]
    shares = shares.assign(reported=shares["share"].astype(float)).reset_index(drop=True)
    members = member_production(ds, prod)  # how a group's output divides (group_shares)
    rows = concat([_with_members(trade, groups), _share_rows(shares, groups)])[["exporter_id", "importer_id", "k_id"]]
    made = _with_members(prod, groups).assign(commodity_id=lambda d: d["k_id"])
    bought = rows.rename(columns={"importer_id": "region_id", "k_id": "commodity_id"})
    dest = _destinations(ds, ks, concat([made, members])[["region_id", "commodity_id"]], bought, year)
    lanes = allowed_lanes(index_r, index_k, made, rows.assign(commodity_id=rows["k_id"]), dest)
    lanes = lanes.assign(var=2 * len(regions) * len(ks) + np.arange(len(lanes)))
    layout = Layout(index_r, index_k, lanes)

    p = concat([prod, members]).assign(reported=lambda d: d["production_t"])
    p_tab = _frame(p, "production", "=", "region_id", None, "t")
    # A world total is its source's sum of rounded country figures: one step below them.
    world_rows = p["region_id"].to_numpy() == WORLD
    p_tab.loc[world_rows, "kind"] = "world_production"
    p_tab.loc[world_rows & (p_tab["basis"] == "reported").to_numpy(), "basis"] = "derived"
    p_tab.loc[len(prod) :, "kind"] = MEMBER_KIND
    t_rows = _trade_rows(trade)
    t_tab = _frame(t_rows, "", "=", "exporter_id", "importer_id", "t")
    t_tab["kind"] = t_rows["kind"].to_numpy()
    s_tab = _frame(shares, "trade_share", "=", "exporter_id", "importer_id", "share")
    demand = named_final_use(ds, ks, year)
    demand = demand[demand["region_id"].isin(regions)]
    need = demand.groupby(["region_id", "commodity_id"], as_index=False).agg(
        reported=("final_t_per_yr", "sum"), source_id=("source_id", lambda s: " ".join(sorted(set(s) - {""})))
    )
    need = need.assign(basis="derived", quality="secondary")
    f_tab = _frame(need, "final_use", ">=", "region_id", None, "t")
    table = concat([p_tab, t_tab, s_tab, f_tab])
    n_p, n_t, n_s = len(p_tab), len(t_tab), len(s_tab)
    table.insert(0, "target_id", _ids(table))

    # Terms: production (WLD sums over regions), trade on lanes, shares, final use.
    p_rows = _with_members(p.assign(target=np.arange(n_p)), groups)
    world = (
        p_rows[p_rows["region_id"] == WORLD]
        .drop(columns="region_id")
        .merge(pd.DataFrame({"region_id": regions}), how="cross")
    )
    p_rows = concat([p_rows[p_rows["region_id"] != WORLD], world])
    p_terms = pd.DataFrame(
        {
            "target": p_rows["target"].to_numpy(),
            "var": layout.x(
                index_r.get_indexer(pd.Index(p_rows["region_id"])), index_k.get_indexer(pd.Index(p_rows["k_id"]))
            ),
            "coef": 1.0,
        }
    )
    t_terms = _lane_terms(_with_members(t_rows.assign(target=n_p + np.arange(n_t), coef=1.0), groups), lanes)
    s_rows = _share_rows(shares.assign(target=n_p + n_t + np.arange(n_s)), groups)
    s_rows = s_rows.assign(uv_own=_exporter_uv(trade, s_rows["exporter_id"], s_rows["code"]))
    s_terms = _share_terms(s_rows, lanes, trade)
    f_terms = pd.DataFrame(
        {
            "target": n_p + n_t + n_s + np.arange(len(need)),
            "var": layout.y(
                index_r.get_indexer(pd.Index(need["region_id"])), index_k.get_indexer(pd.Index(need["commodity_id"]))
            ),
            "coef": 1.0,
        }
    )
    terms = concat([p_terms, t_terms, s_terms, f_terms])
    # Duplicates stay: a share's own lane is in its numerator and its denominator (summed by the solver).

    # Relative residuals: each target scaled by its own size; a share by the share times its
    # importer's imports, which the fit itself estimates (see fit.reconcile: first pass 1 t).
    scale = table["reported"].abs().to_numpy(dtype=float)
    scale[n_p + n_t : n_p + n_t + n_s] = shares["reported"].clip(lower=0.01).to_numpy(dtype=float)
    table["scale"] = np.maximum(np.nan_to_num(scale, nan=1.0), np.where(table["kind"] == "trade_share", 1e-3, 1.0))
    table["weight"] = _weights(table, target_weights(ds))
    has_terms = np.isin(np.arange(len(table)), terms["target"].unique())
    keep = has_terms & np.isfinite(table["reported"].to_numpy(dtype=float))
    return _drop(layout, table, terms, keep)


def _drop(layout: Layout, table: pd.DataFrame, terms: pd.DataFrame, keep: npt.NDArray[np.bool_]) -> Targets:
    """Only targets that touch a variable and have a value; positions renumbered."""
    new = np.cumsum(keep) - 1
    terms = terms[keep[terms["target"].to_numpy()]]
    terms = terms.assign(target=new[terms["target"].to_numpy()]).reset_index(drop=True)
    return Targets(layout=layout, table=table[keep].reset_index(drop=True), terms=terms)
