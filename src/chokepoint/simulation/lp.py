"""The ``lp`` allocation step: one linear programme a month (HiGHS), warm-started month to month.

It runs in the one month loop (:mod:`chokepoint.simulation.loop`): the month's orders are placed
along the current sourcing shares as in the ``fast`` mode, the allocation is the optimum of the
period LP below, and the same responses (:mod:`chokepoint.simulation.responses`) update stocks,
sourcing, offtake floors, prices and substitution. Indices: region ``r`` (origin ``o``, buyer
``b``), commodity (stage) ``k`` with inputs ``j`` (recipe ``a[j, k]`` t of ``j`` per t of ``k``),
sector ``s``. All quantities are tonnes per month.

Variables (bounds)::

    q[r,k]    ∈ [0, p[t,r,k]]                   production from inputs (recycled supply rec[r,k] is added on top)
    u[k,o]    ∈ [0, Σ_b A[k,o,b]]                what origin o ships along its allowed orders A
    e[k,o,b]  ∈ [0, ∞) if α[k,o,b] = 1 else 0    extra shipments (rerouting), uncontrolled arcs only
    d[r,k]    ∈ [0, inventory + min(stock, max_release)]   stock draw (strategic where release is on)
    h[r,k]    ∈ [0, refill[r,k]]                stock build (refill, as in the fast mode)
    x[r,k,s,l] ∈ [0, D[t,r,k,s]/L]              final demand served, in L equal segments l

(``u`` and ``e`` exist only for origins that can ship ``k`` at all — capacity or recycling at
some time, or base-year sales — the fast mode's lanes; any other origin's supply row would hold
them at 0. ``x`` exists only where the base year has the sector's demand.)

``α`` is the plan's allowed share; ``ref[k,o,b] = m_k[o,b]·u_t[b,k]`` is the month's order on the
arc: the current sourcing shares ``m`` applied to the month's use ``u_t`` (final demand after
substitution plus refill plus the inputs its own orders need, top down through the recipes), and
``p = min(cap_t, Σ_b ref)`` the output planned for those orders: spare capacity beyond them is
reached, as in the fast mode, when buyers move their sourcing (a month later). Along the orders
an arc carries ``g[k,o,b] = u[k,o]·A[k,o,b] / Σ_b A[k,o,b]``, ``A = ref·min(1, α)`` its allowed
orders: an origin fills every allowed order by the same share, as the fast mode's pro rata does, so it
never shorts one buyer's order to serve another's; a controlled arc (``α < 1``) carries no more
than ``α·ref``, an uncontrolled one may also carry rerouted ``e``. (Offtakes act on the sourcing
shares, in the responses, as in the fast mode.)

Rows::

    supply[o,k]:  Σ_b (g + e)[k,o,b] − q[o,k]                                   ≤ rec[o,k]   (unsold allowed)
    use[r,j]:     Σ_o (g + e)[j,o,r] + d[r,j] − Σ_k a[j,k]·q[r,k] − h[r,j] − Σ_{s,l} x[r,j,s,l] ≥ 0  (unused allowed)
    joint[r,k]:   q[r,k] = (cap[r,k] / cap[r,k']) · q[r,k']   (joint products k, k' of one input at r)
    clean[r,k]:   Σ_{s ∈ excl(r), l} x[r,k,s,l] − Σ_o (1 − c[k,o,r])·(g + e)[k,o,r] − d[r,k] ≤ 0
    reroute[o,k]: Σ_b e[k,o,b] ≤ max(0, p[o,k] + rec[o,k] − Σ_b min(1, α)·ref[k,o,b])
    final_share[r,k]: Σ_{s ∉ excl(r), l} x[r,k,s,l] = φ[r,k]·(Σ_o (g + e)[k,o,r] + d[r,k] − h[r,k])
                      φ = Y_ne[r,k] / (u_t[r,k] − refill[r,k])

The pro-rata split of ``u``, ``reroute`` and ``final_share`` are the fast mode's rules, so both modes
allocate by the same ones and differ only in what the LP still chooses (docs/simulation.md):
within the month an origin fills its allowed orders pro rata and reroutes only the output they
leave (it may not short an order it could fill to serve another buyer: buyers change suppliers
through the sourcing responses, a month later), and a buyer's deliveries beyond what it rebuilds
serve its final use (``Y_ne``: demand of the sectors no licence excludes) and its production pro
rata to their needs.

``clean`` is the licence exclusion: sectors a licence excludes may only be served from the
uncontrolled part of the region's supply (``c`` is the controlled share of an arc) and its own
stock. It earmarks controlled material for other uses, which is exact for what arrives; it does
not trace controlled content inside products made in the region (own production counts as clean).

Objective (minimised, in units of the lowest sector priority per tonne)::

    − Σ w[s]·(1 + δ·(L − 1 − l)/L)·x[r,k,s,l] + ε_q·Σ q + ε_g·Σ g + ε_e·Σ e + ε_d·Σ d − ε_h·Σ h,
    w = priority / min(priority),  δ = 10⁻²,  ε_q = ε_g = 10⁻⁵ ≪ ε_e = 10⁻⁴ ≪ ε_h = 10⁻² < ε_d = 2·10⁻² ≪ 1

so serving demand comes first (higher priority first: defence-first scenarios set its weight),
then refilling stocks, then drawing as little stock as possible, then rerouting as little as
possible, then producing and shipping no more than needed. The segments make rationing fair
within a priority level: every user competing for the same supply gets its first quarter before
anyone gets a second, so served shares agree to within 1/L (a plain LP would pick an arbitrary
vertex: one sector served fully, another not at all); priorities closer than a factor 1 + δ mix.
Without shocks the unique optimum is the baseline (every lane at its ``ref``).
``w`` is per tonne of any commodity; ``final_share`` keeps that from sending a scarce input to the
stages that serve more tonnes of final demand (a magnet weighs more than the rare earths in it)
instead of the input's own final users. Among a region's production stages the LP still sends
it where it serves most (the fast mode pro rata to their needs).

The duals of the ``use`` rows are shadow prices: the objective gained by one more tonne of ``j``
at ``r`` — about ``w`` of the sector left short where supply is short (or where a tonne more
would free supply for a short buyer of the same origins), the tiny cost of supplying it
otherwise.

Each month is passed to HiGHS in one call (column-wise sparse matrix built from vectorised COO
triplets) and started from the previous month's optimal basis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from highspy._core import _Highs

from chokepoint.errors import ChokepointError
from chokepoint.simulation.allocate_fast import Allocation
from chokepoint.simulation.baseline import Baseline
from chokepoint.simulation.leakage import RouteLanes
from chokepoint.simulation.loop import run_loop
from chokepoint.simulation.plan import Plan
from chokepoint.simulation.quotas import BELOW_ONE, QuotaLanes
from chokepoint.simulation.ratios import ratio
from chokepoint.simulation.recorders import Trajectory, TrajectoryRecorder
from chokepoint.simulation.state import Orders, Setup, State, drawable, params, setup

__all__ = ["LPAllocation", "build_model", "run_lp"]

Array = npt.NDArray[np.float64]
Index = npt.NDArray[np.int64]

#: Cost per tonne produced from inputs, shipped on a baseline lane, shipped on an extra lane.
EPS_PRODUCE, EPS_LANE, EPS_REROUTE = 1e-5, 1e-5, 1e-4
#: Reward per tonne of stock rebuilt, cost per tonne of stock drawn (draw > build: no cycling).
EPS_BUILD, EPS_DRAW = 1e-2, 2e-2
#: Segments of each sector's demand and the extra reward for the first segments (fair rationing).
SEGMENTS, FAIRNESS = 4, 1e-2
#: Simplex iterations a warm start may take before the month is solved afresh: the dual simplex
#: can stall on a degenerate basis, where a cold start takes ~2,000 on the default dataset.
WARM_ITERATIONS, NO_LIMIT = 20_000, 2**31 - 1
INF = highspy.kHighsInf
#: HiGHS's primal feasibility tolerance (t): its rows hold to this, so smaller values are noise.
FEASIBILITY_T = 1e-7


@dataclass(frozen=True)
class Period:
    """What one month's LP needs (shapes in comments)."""

    capacity: Array  # (R, K)
    recycled: Array  # (R, K)
    ref: Array  # (K, R, R) baseline flow o → b this month
    allowed: Array  # (K, R, R)
    controlled: Array  # (K, R, R)
    draw_cap: Array  # (R, K)
    refill: Array  # (R, K)
    demand: Array  # (R, K, S)
    excluded: Array  # (R, S) bool
    weight: Array  # (S,)
    a: Array  # (K, K) inputs a[j, k]
    #: (K, R) origins that can ship a commodity at all (capacity or recycling at some time, or
    #: base-year sales): only their lanes get shipment columns (the others' supply rows hold 0).
    ships: npt.NDArray[np.bool_]
    #: (R, K, S) sector demands the base year has: only they get served columns (none can arise).
    serves: npt.NDArray[np.bool_]
    #: (R, K) share of a buyer's deliveries (less stock rebuilt) due to its final use by sectors no
    #: licence excludes: their demand ÷ the buyer's use less refill (final demand and the inputs of
    #: its planned output)
    final_share: Array
    #: Joint products (outputs of one separated input) and where each was made in the base year (R, m).
    joint: list[tuple[Index, npt.NDArray[np.bool_]]] = field(default_factory=list)

    @cached_property
    def allowed_t(self) -> Array:
        """(K, R) each origin's allowed orders ``Σ_b A``, ``A = ref·min(1, α)``."""
        return (self.ref * np.minimum(self.allowed, 1.0)).sum(axis=2)

    @cached_property
    def split(self) -> Array:
        """(K, R, R) each allowed order's share ``A / Σ_b A`` of its origin's (0 below 10⁻¹² of
        them: rounding noise, which would only make the LP ill-conditioned)."""
        share = ratio(self.ref * np.minimum(self.allowed, 1.0), self.allowed_t[:, :, None], 0.0)
        return np.where(share >= 1e-12, share, 0.0)


@dataclass
class Model:
    """Columns and rows of one period LP, filled by the ``define_*`` functions."""

    cost: list[Array] = field(default_factory=list)
    col_lower: list[Array] = field(default_factory=list)
    col_upper: list[Array] = field(default_factory=list)
    row_lower: list[Array] = field(default_factory=list)
    row_upper: list[Array] = field(default_factory=list)
    entries: list[tuple[Index, Index, Array]] = field(default_factory=list)
    cols: dict[str, Index] = field(default_factory=dict)
    rows: dict[str, Index] = field(default_factory=dict)
    n_col: int = 0
    n_row: int = 0

    def add_cols(
        self, name: str, lower: Array, upper: Array, cost: Array, where: npt.NDArray[np.bool_] | None = None
    ) -> Index:
        """A family of columns shaped like ``lower``, only ``where`` it is True (default: all);
        returns their positions in that shape, −1 where there is no column."""
        keep = np.ones(lower.shape, dtype=bool) if where is None else np.broadcast_to(where, lower.shape)
        n = int(keep.sum())
        idx = np.full(lower.shape, -1, dtype=np.int64)
        idx[keep] = np.arange(self.n_col, self.n_col + n)
        self.n_col += n
        self.col_lower.append(lower[keep])
        self.col_upper.append(np.broadcast_to(upper, lower.shape)[keep])
        self.cost.append(np.broadcast_to(cost, lower.shape)[keep])
        self.cols[name] = idx
        return idx

    def add_rows(self, name: str, lower: Array, upper: Array) -> Index:
        """A family of rows shaped like ``lower``; returns their positions in that shape."""
        idx = np.arange(self.n_row, self.n_row + lower.size).reshape(lower.shape)
        self.n_row += lower.size
        self.row_lower.append(lower.ravel())
        self.row_upper.append(np.broadcast_to(upper, lower.shape).ravel())
        self.rows[name] = idx
        return idx

    def add_terms(self, rows: Index, cols: Index, values: Array | float) -> None:
        """Coefficients ``values`` at (``rows``, ``cols``), all broadcast to one shape; none where
        there is no column (−1)."""
        r, c, v = np.broadcast_arrays(rows, cols, np.asarray(values, dtype=float))
        has = c >= 0
        self.entries.append((r[has], c[has], v[has]))

    def pass_to(self, h: _Highs) -> tuple[Array, Array]:
        """Pass the model to ``h`` as a column-wise LP (COO → CSC, zeros dropped); returns the
        column bounds. (The array overload of ``passModel``: a ``HighsLp``'s vector fields copy
        element by element through Python, ~6× slower at 10⁵ columns.)"""
        r, c, v = (np.concatenate(parts) for parts in zip(*self.entries, strict=True))
        keep = v != 0.0
        A = sp.csc_array((v[keep], (r[keep], c[keep])), shape=(self.n_row, self.n_col))
        A.sort_indices()
        lower, upper = np.concatenate(self.col_lower), np.concatenate(self.col_upper)
        h.passModel(
            self.n_col,
            self.n_row,
            A.nnz,
            int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMinimize),
            0.0,
            np.concatenate(self.cost),
            lower,
            upper,
            np.concatenate(self.row_lower),
            np.concatenate(self.row_upper),
            A.indptr.astype(np.int32),
            A.indices.astype(np.int32),
            A.data,
            np.zeros(self.n_col, dtype=np.int32),  # all continuous
        )
        return lower, upper


def define_production(m: Model, p: Period) -> None:
    """``0 ≤ q[r,k] ≤ cap[r,k]``, cost ``ε_q`` per tonne."""
    m.add_cols("q", np.zeros_like(p.capacity), p.capacity, np.array(EPS_PRODUCE))


def define_flows(m: Model, p: Period) -> None:
    """``0 ≤ u[k,o] ≤ Σ_b A``, the tonnes an origin ships along its allowed orders ``A = ref·min(1, α)``,
    split pro rata among them (``g = u·A/Σ_b A``, cost ``ε_g``); ``0 ≤ e[k,o,b] ≤ ∞ if α = 1 else 0``
    (cost ``ε_e``)."""
    m.add_cols("u", np.zeros(p.ships.shape), p.allowed_t, np.array(EPS_LANE), p.ships)
    lanes = p.ships[:, :, None]  # every buyer of an origin that can ship
    m.add_cols("e", np.zeros_like(p.ref), np.where(p.allowed >= 1.0, INF, 0.0), np.array(EPS_REROUTE), lanes)


def define_stock_draw(m: Model, p: Period) -> None:
    """``0 ≤ d[r,k] ≤ inventory + min(stock, max_release)`` (the strategic stock where release is
    on: :func:`~chokepoint.simulation.state.drawable`), cost ``ε_d``."""
    m.add_cols("d", np.zeros_like(p.draw_cap), p.draw_cap, np.array(EPS_DRAW))


def define_stock_build(m: Model, p: Period) -> None:
    """``0 ≤ h[r,k] ≤ refill[r,k]``, reward ``ε_h``."""
    m.add_cols("h", np.zeros_like(p.refill), p.refill, np.array(-EPS_BUILD))


def define_served(m: Model, p: Period) -> None:
    """``0 ≤ x[r,k,s,l] ≤ D[r,k,s]/L``, reward ``w[s]·(1 + δ·(L − 1 − l)/L)`` per tonne."""
    upper = np.repeat(p.demand[..., None] / SEGMENTS, SEGMENTS, axis=-1)
    bonus = 1.0 + FAIRNESS * np.arange(SEGMENTS - 1, -1, -1) / SEGMENTS
    m.add_cols("x", np.zeros_like(upper), upper, -p.weight[:, None] * bonus[None, :], p.serves[..., None])


def define_supply_balance(m: Model, p: Period) -> None:
    """``Σ_b (g + e)[k,o,b] − q[o,k] ≤ rec[o,k]``: ship no more than made plus recycled."""
    rows = m.add_rows("supply", np.full_like(p.recycled, -INF), p.recycled)  # (R, K)
    m.add_terms(rows.T, m.cols["u"], 1.0)
    m.add_terms(rows.T[:, :, None], m.cols["e"], 1.0)  # (K, o, 1)
    m.add_terms(rows, m.cols["q"], -1.0)


def define_use_balance(m: Model, p: Period) -> None:
    """``Σ_o (g + e)[j,o,r] + d[r,j] − Σ_k a[j,k]·q[r,k] − h[r,j] − Σ_{s,l} x[r,j,s,l] ≥ 0``: what
    arrives covers inputs, stock build and final use (the rest is unused inventory)."""
    rows = m.add_rows("use", np.zeros_like(p.recycled), np.array(INF))  # (R, K)
    by_arc = rows.T[:, None, :]  # (K, 1, b)
    m.add_terms(by_arc, m.cols["u"][:, :, None], p.split)
    m.add_terms(by_arc, m.cols["e"], 1.0)
    m.add_terms(rows, m.cols["d"], 1.0)
    m.add_terms(rows, m.cols["h"], -1.0)
    m.add_terms(rows[:, :, None, None], m.cols["x"], -1.0)
    m.add_terms(rows[:, :, None], m.cols["q"][:, None, :], -p.a[None, :, :])  # (r, j, k)


def define_clean_supply(m: Model, p: Period) -> None:
    """``Σ_{s excluded at r, l} x[r,k,s,l] − Σ_o (1 − c[k,o,r])·(g + e)[k,o,r] − d[r,k] ≤ 0``: sectors
    a licence excludes are served only from uncontrolled supply (free where none is excluded)."""
    any_excluded = np.asarray(p.excluded.any(axis=1))
    upper = np.where(any_excluded[:, None], np.zeros_like(p.recycled), INF)
    rows = m.add_rows("clean", np.full_like(p.recycled, -INF), upper)
    m.add_terms(rows[:, :, None, None], m.cols["x"], p.excluded[:, None, :, None].astype(float))
    by_arc = rows.T[:, None, :]
    m.add_terms(by_arc, m.cols["u"][:, :, None], -(1.0 - p.controlled) * p.split)
    m.add_terms(by_arc, m.cols["e"], -(1.0 - p.controlled))
    m.add_terms(rows, m.cols["d"], -1.0)


def define_reroute_budget(m: Model, p: Period) -> None:
    """``Σ_b e[k,o,b] ≤ max(0, p[o,k] + rec[o,k] − Σ_b min(1, α)·ref[k,o,b])``: an origin reroutes only
    the output its allowed orders do not take (what it planned for blocked or missing orders), as
    in the fast mode; it may not short an order it could fill to serve another buyer (buyers change
    suppliers through the sourcing responses, a month later). Only origins with output have a row."""
    o, k = np.nonzero(p.capacity + p.recycled > 0)
    taken = (p.ref[k, o] * np.minimum(p.allowed[k, o], 1.0)).sum(axis=1)
    budget = np.maximum(p.capacity[o, k] + p.recycled[o, k] - taken, 0.0)
    rows = m.add_rows("reroute", np.full_like(budget, -INF), budget)
    m.add_terms(rows[:, None], m.cols["e"][k, o], 1.0)


def define_final_share(m: Model, p: Period) -> None:
    """``Σ_{s ∉ excl(r), l} x[r,k,s,l] = φ[r,k]·(Σ_o (g + e)[k,o,r] + d[r,k] − h[r,k])``, ``φ`` the
    share of the buyer's use less refill that is final demand of sectors no licence excludes: what
    a region receives beyond what it rebuilds serves its final use and its production pro rata, as
    in the fast mode, so the LP
    neither takes a scarce input from final users to make products that weigh more tonnes nor the
    reverse. Rows only where final use and production or refill compete (``0 < φ < 1``)."""
    r, k = np.nonzero((p.final_share > 0) & (p.final_share < 1))
    phi = p.final_share[r, k]
    rows = m.add_rows("final_share", np.zeros(len(r)), np.zeros(len(r)))
    m.add_terms(rows[:, None, None], m.cols["x"][r, k], np.logical_not(p.excluded[r])[:, :, None].astype(float))
    m.add_terms(rows[:, None], m.cols["u"][k, :], -phi[:, None] * p.split[k, :, r])
    m.add_terms(rows[:, None], m.cols["e"][k, :, r], -phi[:, None])
    m.add_terms(rows, m.cols["d"][r, k], -phi)
    m.add_terms(rows, m.cols["h"][r, k], phi)


def define_joint_production(m: Model, p: Period) -> None:
    """``q[r,k_i]·cap[r,k_lead] − q[r,k_lead]·cap[r,k_i] = 0`` (scaled by ``cap[r,k_lead]``) for the
    joint products ``k_i`` of one input at each region that made them in the base year, ``k_lead``
    the one with most planned output there: one utilisation per (region, separated input), as in
    the fast mode, whose pro-rata rationing of the input gives each the same share of its plan."""
    for members, made in p.joint:
        planned = np.where(made, p.capacity[:, members], 0.0)  # (R, m)
        lead = planned.argmax(axis=1)
        r, i = np.nonzero(made & (planned[np.arange(len(lead)), lead] > 0)[:, None])
        keep = i != lead[r]
        r, i = r[keep], i[keep]
        if not len(r):
            continue
        rows = m.add_rows("joint", np.zeros(len(r)), np.zeros(len(r)))
        m.add_terms(rows, m.cols["q"][r, members[i]], 1.0)
        m.add_terms(rows, m.cols["q"][r, members[lead[r]]], -planned[r, i] / planned[r, lead[r]])


def build_model(p: Period) -> Model:
    """The period LP (module docs): columns, then rows, each family vectorised."""
    m = Model()
    define_production(m, p)
    define_flows(m, p)
    define_stock_draw(m, p)
    define_stock_build(m, p)
    define_served(m, p)
    define_supply_balance(m, p)
    define_use_balance(m, p)
    define_clean_supply(m, p)
    define_reroute_budget(m, p)
    define_final_share(m, p)
    define_joint_production(m, p)
    return m


def _allowed(s: Setup, t: int, o: Orders) -> Array:
    """The allowed share of each lane (K, R, R) this month: the plan's, and on the lanes of a
    quota or leakage route in force what the month's orders were allowed (below 1 where the plan
    limits the lane, so no rerouting carries more past the quota)."""
    allowed = s.plan.allowed[t]
    limited: list[QuotaLanes | RouteLanes] = [*s.quotas, *s.routes]
    for q in limited:
        if q.in_force(t):
            allowed = allowed.copy() if allowed is s.plan.allowed[t] else allowed
            k, origin = s.lane_k[q.rows], s.lane_o[q.rows]
            planned = allowed[k, origin]
            share = ratio(o.allowed[q.rows, :, 0], o.lane[q.rows, :, 0], 1.0)
            allowed[k, origin] = np.where(planned < 1.0, np.minimum(share, BELOW_ONE), planned)
    return allowed


class LPAllocation:
    """The period-LP allocation step (batch of one): one HiGHS model a month, each started from the
    previous month's optimal basis (afresh where that stalls: :data:`WARM_ITERATIONS`). The LP is
    always feasible (nothing moved, nothing served) and bounded (served ≤ demand, every unbounded
    column has a positive cost), so a solver failure is an error."""

    def __init__(self, s: Setup) -> None:
        if s.B != 1:
            raise ChokepointError(f"the lp allocation solves one draw at a time, not {s.B}")
        priority = np.asarray(s.plan.priority, dtype=float)
        self.weight = priority / priority.min()
        # The raw binding: the Python ``Highs`` wrapper prints a banner on construction, before its
        # output can be switched off, and its callbacks are not needed here.
        self.h = _Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("presolve", "off")
        self.basis: highspy.HighsBasis | None = None
        self.ships = np.zeros((s.K, s.R), dtype=bool)
        self.ships[s.lane_k, s.lane_o] = True
        self.serves = s.final0.transpose(2, 0, 1) > 0  # demand is base × multipliers × (1 − substitution)

    def period(self, s: Setup, t: int, state: State, o: Orders) -> Period:
        """Month ``t``'s LP data: lanes bounded by this month's orders along the current sourcing
        shares, production by the output planned for them (module docs)."""
        R, K = s.R, s.K
        ref = np.zeros((K, R, R))
        ref[s.lane_k, s.lane_o] = o.lane[..., 0]
        return Period(
            capacity=o.plan_out[..., 0].T,
            recycled=s.plan.recycled_t[t].reshape(R, K),
            ref=ref,
            allowed=_allowed(s, t, o),
            controlled=s.plan.controlled_origin[t],
            draw_cap=drawable(s, state)[..., 0].T,
            refill=o.refill[..., 0].T,
            demand=o.final[..., 0].transpose(2, 0, 1),
            excluded=s.plan.excluded[t] > 0,
            weight=self.weight,
            a=s.a,
            final_share=(ratio(o.final_total - o.need_excluded, o.need, 0.0)[..., 0].T).clip(0.0, 1.0),
            joint=[(members, s.base_out[members, :, 0].T > 0) for _, members in s.joint],
            ships=self.ships,
            serves=self.serves,
        )

    def __call__(self, s: Setup, t: int, state: State, o: Orders) -> Allocation:
        p = self.period(s, t, state, o)
        model = build_model(p)
        h = self.h
        col_lower, col_upper = model.pass_to(h)
        if self.basis is not None:
            h.setBasis(self.basis)
            h.setOptionValue("simplex_iteration_limit", WARM_ITERATIONS)
        h.run()
        if self.basis is not None and h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            h.setOptionValue("simplex_iteration_limit", NO_LIMIT)  # the warm start stalled: start afresh
            model.pass_to(h)
            h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise ChokepointError(f"period LP of {s.plan.periods[t]} not solved: {h.modelStatusToString(status)}")
        self.basis = h.getBasis()
        sol = h.getSolution()
        x = np.clip(np.asarray(sol.col_value), col_lower, col_upper)
        cols = model.cols
        q = x[cols["q"]]  # (R, K)
        along = np.where(cols["u"] >= 0, x[cols["u"]], 0.0)  # (K, o)
        shipped = along[:, :, None] * p.split + np.where(cols["e"] >= 0, x[cols["e"]], 0.0)  # (K, o, b)
        shipped[shipped < FEASIBILITY_T] = 0.0  # within HiGHS's tolerance of nothing: phantom shipments
        served = np.where(cols["x"] >= 0, x[cols["x"]], 0.0)  # (R, K, S, L)

        def node(v: Array) -> Array:  # (R, K) → (K, R, 1)
            return np.ascontiguousarray(v.T)[..., None]

        return Allocation(
            produced=node(q + p.recycled),
            shipped=shipped[s.lane_k, s.lane_o][..., None],
            received=shipped.sum(axis=1)[..., None],
            draw=node(x[cols["d"]]),
            build=node(x[cols["h"]]),
            intermediate=node(q @ s.a.T),  # (r, j) = Σ_k a[j,k]·q[r,k]
            served=np.ascontiguousarray(served.sum(axis=-1).transpose(1, 2, 0))[..., None],
            dual=node(np.asarray(sol.row_dual)[model.rows["use"]]),
        )


def run_lp(
    baseline: Baseline,
    plan: Plan,
    *,
    capacity_scale: Array | None = None,
    on_period: Callable[[int], None] | None = None,
    **rates: float,
) -> Trajectory:
    """Run the month loop with the period LP as allocation step (batch of one); the shadow prices
    (objective units per tonne, weight of the lowest-priority sector) are ``shadow_price_t``.
    ``capacity_scale`` (1, n) multiplies base capacity, as for a fast-mode draw; ``rates`` are
    engine parameters (:data:`~chokepoint.simulation.state.RATE_DEFAULTS`)."""
    s = setup(baseline, plan, 1, params(1, **rates), capacity_scale)
    return run_loop(s, LPAllocation(s), TrajectoryRecorder(s), on_period)
