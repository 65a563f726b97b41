"""Member targets: how a product group's reported output divides among its members.

Statistics report a product group (``ree_oxide``: every separated oxide; ``ndfeb_magnet``: HS 850511),
the network works per member (``ree_oxide_dy`` …). The group row is a target on the sum of the
members (:mod:`chokepoint.baseyear.targets`); how the sum divides comes from ``group_shares``: each
member's share of the group in a region (assays × mine output per deposit type, magnet grades, a
producer's own product mix) or in the world (``WLD``, for every region without rows of its own).

Each production row filed under a group adds one ``member_production`` target per member,
``x[r, k] = share_k × production_t`` (a ``WLD`` row: ``Σ_r x[r, k]``), of basis ``derived`` and
quality ``secondary`` where the share is derived (``weak`` where it is an assumption). Their weight
(``target_weights``, kind ``member_production``) is far below any reported figure's, so they only
decide what the reported totals, trade and recipes leave open.
"""

from __future__ import annotations

import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.dataset.groups import WORLD

__all__ = ["MEMBER_KIND", "member_production"]

#: Target kind of a member's share of a reported group total.
MEMBER_KIND = "member_production"
_QUALITY = {"reported": "primary", "derived": "secondary", "assumption": "weak"}


def member_production(ds: Dataset, prod: pd.DataFrame) -> pd.DataFrame:
    """Rows like ``prod`` (production filed under a product group), one per member with a share:
    ``production_t`` × the member's share (the row's region in ``group_shares``, else ``WLD``),
    ``source_id`` and ``basis`` of the share, ``quality`` by that basis. Empty without shares."""
    shares = ds["group_shares"]
    rows = prod[prod["commodity_id"].isin(set(shares["product_group"]))]
    if rows.empty:
        return prod.iloc[0:0].assign(quality=pd.Series(dtype=str))
    own = set(zip(shares["product_group"], shares["region_id"], strict=True))
    keyed = rows.assign(
        _region=[r if (g, r) in own else WORLD for g, r in zip(rows["commodity_id"], rows["region_id"], strict=True)]
    )
    split = keyed.merge(
        shares[["product_group", "region_id", "commodity_id", "share", "source_id", "basis"]].rename(
            columns={"product_group": "group_id", "region_id": "_region", "commodity_id": "member_id"}
        ),
        left_on=["commodity_id", "_region"],
        right_on=["group_id", "_region"],
        suffixes=("_row", ""),
    )
    return pd.DataFrame(
        {
            "region_id": split["region_id"].to_numpy(),
            "commodity_id": split["member_id"].to_numpy(),
            "year": split["year"].to_numpy(),
            "production_t": (split["production_t"] * split["share"]).to_numpy(dtype=float),
            "source_id": split["source_id"].to_numpy(),
            "basis": "derived",
            "quality": split["basis"].map(_QUALITY).fillna("weak").to_numpy(),
        }
    )
