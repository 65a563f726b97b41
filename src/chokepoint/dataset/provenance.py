"""Where every figure comes from: the sources cited and the figures that are not reported as published."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.schema import TABLES, schema

__all__ = ["CITING_TABLES", "assumptions", "basis_summary", "sources_used"]

#: A source id as it appears in running text.
_WORD = r"[A-Za-z0-9_]+"

#: Tables whose rows carry ``source_id``, ``basis`` and ``note``: every table with figures.
CITING_TABLES: tuple[str, ...] = tuple(t for t in TABLES if t != "sources" and "basis" in schema(t).columns)


def _value_fields(table: str) -> list[str]:
    return [f.field for f in schema(table).fields if f.is_quantity or f.is_rate]


def sources_used(ds: Dataset, scenarios: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The sources table with, per source, how many rows cite it.

    ``rows_cited`` counts rows naming it in ``source_id``; ``notes_citing`` counts rows whose note
    (or sector description) names it, as an input to a derivation or as context;
    ``scenarios_citing`` counts the ``scenarios`` (name to file text, e.g. the backtests whose
    observations cite customs releases) that name it.
    """
    cited = pd.concat([ds[t]["source_id"] for t in CITING_TABLES], ignore_index=True).value_counts()
    texts = [ds[t]["note"] for t in CITING_TABLES] + [ds["sectors"]["description"]]
    notes = pd.concat(texts, ignore_index=True).dropna()
    words = notes.str.findall(_WORD).explode().dropna()
    in_notes = words[words.isin(ds["sources"]["source_id"])].groupby(level=0).unique().explode().value_counts()
    ids = ds["sources"]["source_id"]
    out = ds["sources"].assign(
        rows_cited=ids.map(cited).fillna(0).astype("int64"),
        notes_citing=ids.map(in_notes).fillna(0).astype("int64"),
        scenarios_citing=ids.map(_citing_count(scenarios or {}, set(ids))).fillna(0).astype("int64"),
    )
    return out.sort_values("source_id", ignore_index=True)


def _citing_count(texts: Mapping[str, str], ids: set[str]) -> pd.Series:
    """How many of ``texts`` name each of ``ids`` as a whole word."""
    named = [set(re.findall(_WORD, text)) & ids for text in texts.values()]
    return pd.Series([i for words in named for i in words], dtype="string").value_counts()


def assumptions(ds: Dataset) -> pd.DataFrame:
    """Every row whose basis is ``derived`` or ``assumption``: table, key, value, basis, note, source.

    ``key`` names the row (``region_id=CHN, commodity_id=ree_oxide, year=2024``) and ``value`` its
    figures (``production_t=270000``), so each line can be found and changed.
    """
    frames = []
    for table in CITING_TABLES:
        df = ds[table]
        rows = df[df["basis"] != "reported"]
        if rows.empty:
            continue
        key = schema(table).key
        label = (
            rows[key]
            .astype("string")
            .apply(lambda r, k=key: ", ".join(f"{c}={v}" for c, v in zip(k, r, strict=True)), axis=1)
        )
        values = rows[_value_fields(table)].apply(
            lambda r: ", ".join(f"{c}={v:g}" for c, v in r.items() if pd.notna(v)), axis=1
        )
        frames.append(
            pd.DataFrame(
                {
                    "table": table,
                    "key": label.to_numpy(),
                    "value": values.to_numpy(),
                    "basis": rows["basis"].to_numpy(),
                    "note": rows["note"].to_numpy(),
                    "source_id": rows["source_id"].to_numpy(),
                }
            )
        )
    columns = ["table", "key", "value", "basis", "note", "source_id"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def basis_summary(ds: Dataset) -> pd.DataFrame:
    """Rows per table and basis (reported, derived, assumption), with the reported share."""
    counts = (
        pd.DataFrame({t: ds[t]["basis"].value_counts() for t in CITING_TABLES if len(ds[t])})
        .T.reindex(columns=["reported", "derived", "assumption"])
        .fillna(0)
        .astype("int64")
    )
    counts.loc["all"] = counts.sum()
    counts["rows"] = counts.sum(axis=1)
    counts["reported_pct"] = 100.0 * counts["reported"] / counts["rows"]
    return counts.rename_axis("table").reset_index()
