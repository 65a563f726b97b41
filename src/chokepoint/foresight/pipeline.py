"""Supply from the project pipeline, with the risk that projects slip or never finish.

Every facility with a stated capacity (``facility_capacity``; its latest year) or, for an
operating one, a reported output (a lower bound of its capacity) is a project. Its status
(``facilities.status``) selects a row of ``pipeline_risk``: the probability it is ever completed,
the probability it starts in its target year, the mean delay of a late one, the ramp to nameplate
and, for a project with no start year, the lead time. A Monte Carlo over projects and draws, in
one array:

- completed with probability ``p_complete`` (else it never produces);
- its target year is its ``start_year``, or ``as_of + 1 + lead_yr`` when none is stated;
- it is late with probability ``1 − p_on_time``, and always when its target has passed
  (``target ≤ as_of``) without it operating; a late project starts ``G`` years after
  ``max(target, as_of)``, ``G`` geometric on 1, 2, … with mean ``mean_delay_yr``;
- from its first year its capacity ramps linearly to nameplate over ``ramp_yr`` years
  (``(age + 1) / ramp_yr``, capped at 1).

The analytic mean (:func:`expected_capacity`) is the same model summed over the delay
distribution; the tests hold the Monte Carlo to it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError

__all__ = ["Pipeline", "expected_capacity", "pipeline", "pipeline_projects", "ramp"]

#: Statuses that are not in the pipeline: nothing is expected of them.
OUT_OF_PIPELINE = ("idle", "closed")
QUANTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class Pipeline:
    """The pipeline's ``projects`` (one row each, with its risk and when it is expected to start)
    and ``capacity`` (year × region × commodity: as announced, expected and its quantiles)."""

    projects: pd.DataFrame
    capacity: pd.DataFrame
    as_of: int
    draws: int


def pipeline_projects(ds: Dataset, as_of: int) -> pd.DataFrame:
    """One row per facility in the pipeline with its nameplate, target year and risk row."""
    fac = ds["facilities"]
    fac = fac[~fac["status"].isin(OUT_OF_PIPELINE)]
    cap = ds["facility_capacity"].sort_values("year")
    stated = cap.dropna(subset=["capacity_t_per_yr"]).groupby("facility_id").last()
    output = cap.dropna(subset=["production_t"]).groupby("facility_id").last()
    projects = fac.set_index("facility_id")[["name", "owner", "region_id", "commodity_id", "status", "start_year"]]
    projects["capacity_t_per_yr"] = stated["capacity_t_per_yr"].reindex(projects.index)
    projects["capacity_basis"] = np.where(projects["capacity_t_per_yr"].notna(), "stated", "")
    from_output = projects["capacity_t_per_yr"].isna() & (projects["status"] == "operating")
    projects.loc[from_output, "capacity_t_per_yr"] = output["production_t"].reindex(projects.index)[from_output]
    projects.loc[from_output & projects["capacity_t_per_yr"].notna(), "capacity_basis"] = "output (a lower bound)"
    projects["capacity_source_id"] = (
        stated["source_id"].reindex(projects.index).fillna(output["source_id"].reindex(projects.index))
    )
    risk = ds["pipeline_risk"].set_index("status")
    missing = sorted(set(projects["status"]) - set(risk.index))
    if missing:
        raise ChokepointError(f"pipeline_risk: no row for status {', '.join(missing)} (facilities.status)")
    short = risk["mean_delay_yr"][risk["mean_delay_yr"] < 1]
    if len(short):
        raise ChokepointError(
            f"pipeline_risk, field mean_delay_yr: {short.iloc[0]:g} for {short.index[0]} is below 1 year"
        )
    projects = projects.join(risk[["p_complete", "p_on_time", "mean_delay_yr", "ramp_yr", "lead_yr"]], on="status")
    start = projects["start_year"].astype("Float64")
    operating = projects["status"] == "operating"
    # undated: an operating facility is running now; another starts lead_yr after the latest year
    undated_target = pd.Series(np.where(operating, as_of, as_of + 1 + projects["lead_yr"]), index=projects.index)
    projects["target_year"] = start.fillna(undated_target).astype(float)
    projects["target_basis"] = np.where(
        start.notna(), "start_year", np.where(operating, "operating", "latest year + 1 + lead_yr")
    )
    projects["overdue"] = ~operating & (projects["target_year"] <= as_of)  # late for certain
    return projects.reset_index()


def ramp(age: npt.ArrayLike, ramp_yr: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Share of nameplate in a project's year ``age`` (0 = its first year): ``(age + 1) / ramp_yr``
    capped at 1, 0 before it starts; nameplate at once when ``ramp_yr`` is 0."""
    age, ramp_yr = np.asarray(age, dtype=float), np.asarray(ramp_yr, dtype=float)
    share = np.where(ramp_yr > 0, (age + 1.0) / np.where(ramp_yr > 0, ramp_yr, 1.0), 1.0)
    return np.where(age >= 0, np.clip(share, 0.0, 1.0), 0.0)


def _delay_pmf(mean_delay_yr: npt.NDArray[np.float64], years: int) -> npt.NDArray[np.float64]:
    """P(G = g) for g = 1 … years of the geometric delay (P, years); the tail beyond is dropped."""
    p = 1.0 / mean_delay_yr[:, None]
    g = np.arange(1, years + 1)[None, :]
    return p * (1.0 - p) ** (g - 1)


def expected_capacity(projects: pd.DataFrame, years: npt.ArrayLike, as_of: int) -> npt.NDArray[np.float64]:
    """The exact mean capacity (P, Y) of each project in each year: the same model as the Monte
    Carlo, summed over completion and the delay distribution (an independent check of it)."""
    years = np.asarray(years, dtype=float)
    target = projects["target_year"].to_numpy(dtype=float)
    ramp_yr = projects["ramp_yr"].to_numpy(dtype=float)
    p_late = np.where(projects["overdue"], 1.0, 1.0 - projects["p_on_time"].to_numpy(dtype=float))
    base = np.maximum(target, as_of)
    horizon = int(years.max() - min(as_of, np.nanmin(target))) + 2
    pmf = _delay_pmf(projects["mean_delay_yr"].to_numpy(dtype=float), horizon)  # (P, G)
    g = np.arange(1, horizon + 1)
    late = (
        pmf[:, :, None] * ramp(years[None, None, :] - (base[:, None, None] + g[None, :, None]), ramp_yr[:, None, None])
    ).sum(axis=1)
    on_time = ramp(years[None, :] - target[:, None], ramp_yr[:, None])
    share = (1.0 - p_late)[:, None] * on_time + p_late[:, None] * late
    nameplate = projects["capacity_t_per_yr"].to_numpy(dtype=float)
    return projects["p_complete"].to_numpy(dtype=float)[:, None] * nameplate[:, None] * share


def _simulate(
    projects: pd.DataFrame, years: npt.NDArray[np.int64], as_of: int, draws: int, seed: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Capacity (D, P, Y) in every draw, with each project's first year and completion (D, P)."""
    rng = np.random.default_rng(seed)
    n = len(projects)
    target = projects["target_year"].to_numpy(dtype=float)
    complete = rng.random((draws, n)) < projects["p_complete"].to_numpy(dtype=float)
    late = projects["overdue"].to_numpy(dtype=bool) | (
        rng.random((draws, n)) >= projects["p_on_time"].to_numpy(dtype=float)
    )
    delay = rng.geometric(1.0 / projects["mean_delay_yr"].to_numpy(dtype=float), size=(draws, n))
    first = np.where(late, np.maximum(target, as_of) + delay, target)
    share = ramp(years[None, None, :] - first[..., None], projects["ramp_yr"].to_numpy(dtype=float)[None, :, None])
    nameplate = projects["capacity_t_per_yr"].to_numpy(dtype=float)
    return complete[..., None] * nameplate[None, :, None] * share, first, complete


def pipeline(
    ds: Dataset,
    to: int = 2035,
    draws: int = 10_000,
    seed: int = 0,
    as_of: int | None = None,
    ramp_slowdown: float = 1.0,
    controller: str = "CHN",
) -> Pipeline:
    """The pipeline's capacity by year, region and commodity from ``as_of + 1`` (default: the
    dataset's latest production year) to ``to``, over ``draws`` Monte Carlo draws (module docs).
    ``ramp_slowdown`` > 1 is a technology-export ban by ``controller``: every project outside it
    ramps that many times slower (the simulation's ``technology_ban`` uses 1.5, assumed)."""
    as_of = int(ds["production"]["year"].max()) if as_of is None else as_of
    if to <= as_of:
        raise ChokepointError(f"pipeline: --to {to} must be after the dataset's latest year {as_of}")
    if not 1 <= draws <= 1_000_000:
        raise ChokepointError(f"pipeline: draws {draws} must be between 1 and 1,000,000")
    if not 1.0 <= ramp_slowdown <= 100.0:  # also refuses NaN
        raise ChokepointError(f"pipeline: ramp_slowdown {ramp_slowdown} must be between 1 and 100")
    projects = pipeline_projects(ds, as_of)
    projects.loc[projects["region_id"] != controller, "ramp_yr"] *= ramp_slowdown
    counted = projects[projects["capacity_t_per_yr"].notna()].reset_index(drop=True)
    years = np.arange(as_of + 1, to + 1)
    cap, first, complete = _simulate(counted, years, as_of, draws, seed)
    keys = counted[["region_id", "commodity_id"]].drop_duplicates().sort_values(["region_id", "commodity_id"])
    group = pd.MultiIndex.from_frame(keys).get_indexer(pd.MultiIndex.from_frame(counted[["region_id", "commodity_id"]]))
    onehot = np.zeros((len(counted), len(keys)))
    onehot[np.arange(len(counted)), group] = 1.0
    total = cap.transpose(0, 2, 1) @ onehot  # (D, Y, G)
    announced = (
        counted["capacity_t_per_yr"].to_numpy()[:, None]
        * (years[None, :] >= counted["target_year"].to_numpy(dtype=float)[:, None])
    ).T @ onehot
    q = np.quantile(total, QUANTILES, axis=0)  # (3, Y, G)
    capacity = pd.DataFrame(
        {
            "year": np.repeat(years, len(keys)),
            "region_id": np.tile(keys["region_id"].to_numpy(), len(years)),
            "commodity_id": np.tile(keys["commodity_id"].to_numpy(), len(years)),
            "announced_t_per_yr": announced.ravel(),
            "expected_t_per_yr": total.mean(axis=0).ravel(),
            **{f"p{round(100 * p)}_t_per_yr": q[i].ravel() for i, p in enumerate(QUANTILES)},
        }
    )
    done = np.where(complete, first, np.nan)
    counted["p_online_by_target"] = (complete & (first <= counted["target_year"].to_numpy(dtype=float))).mean(axis=0)
    counted["p_complete_by_end"] = (complete & (first <= to)).mean(axis=0)
    with warnings.catch_warnings():  # a project completed in no draw has no first year: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        for p in (0.5, 0.9):
            counted[f"first_year_p{round(100 * p)}"] = np.nanquantile(done, p, axis=0)
    out = projects.merge(
        counted[["facility_id", "p_online_by_target", "p_complete_by_end", "first_year_p50", "first_year_p90"]],
        on="facility_id",
        how="left",
    )
    return Pipeline(projects=out, capacity=capacity, as_of=as_of, draws=draws)
