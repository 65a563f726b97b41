"""Who holds leverage over whom: cutoff costs, their balance, deterrence and indigenisation.

One directed **dependence** is a controller ``A`` that can cut a target ``B`` off in a domain
(advanced chips, chip-making tools, frontier AI, dollar finance, rare earths). Its figures come
from the dataset's ``leverage`` table or a pathway file's assumptions.

Model (yearly, ``t = 0 … H−1``):

- **Indigenisation.** The target substitutes at rate ``κ·e_t``, with ``κ = ln 10 / T_sub`` (90%
  of the dependence replaced after ``T_sub`` years of full effort) and effort
  ``e_t = e₀ + (1 − e₀)·ρ·c_t`` — a baseline effort ``e₀`` plus the response ``ρ`` to a control
  of coverage ``c_t`` (the share of the dependence the control covers). Dependence falls as
  ``d_{t+1} = d_t·exp(−κ·e_t)``: controls push the target to build alternatives.
- **Leverage** (what ``A`` could impose on ``B`` at ``t``): ``L_t = Y·d_t·(1 − λ)`` with ``Y`` the
  target's downstream output resting on the domain and ``λ`` enforcement leakage.
- **Cost of a cutoff** of coverage ``c_t``: to the target ``c_t·L_t``; to the controller, sales
  lost while controlled ``c_t·(1 − λ)·R·d_t/d₀`` plus market ceded to third countries
  ``c_t·m·R``, plus sales eroded for good ``R·(1 − d_t/d₀)`` (the target no longer buys what it
  learnt to make).
- **Balance** of a pair: ``A``'s leverage over ``B`` summed over domains minus ``B``'s over ``A``.
- **Deterrence** (a one-shot escalation game, discounted at ``r``): a side gains ``θ`` (the share
  of the cost it imposes that it captures as concessions) of the present value of the cost it can
  impose in its strongest domain, and pays the present value of its own cutoff cost plus the
  other side's best retaliation. Mutual restraint is stable in a year when neither side gains
  from escalating.

All functions are pure; :func:`run_pathway` returns tidy tables.
"""

from chokepoint.leverage.compare import (
    DECOUPLED,
    ENGAGED,
    Headline,
    assumptions_table,
    balance_matrix,
    compare_pathways,
    comparison_tables,
    escalation_ladder,
    leverage_headline,
)
from chokepoint.leverage.files import PATHWAYS_DIR, find_pathway, load_pathway, shipped_pathways
from chokepoint.leverage.model import (
    SIMULATED_DOMAINS,
    Dependence,
    LeverageError,
    LossKey,
    Pathway,
    SimulatedLosses,
    cutoff_costs,
    dependence_path,
    deterrence,
    leverage_balance,
    load_dependences,
    present_value,
    simulated_cutoffs,
    simulated_losses,
    substitution_rate,
)
from chokepoint.leverage.run import run_pathway
from chokepoint.leverage.sensitivity import (
    SENSITIVITY_PARAMETERS,
    GlobalSensitivity,
    break_even,
    global_sensitivity,
    sensitivity,
)
from chokepoint.leverage.study import Comparison, check_regions, compare_all, pathways_to_compare, with_horizon

__all__ = [
    "DECOUPLED",
    "ENGAGED",
    "PATHWAYS_DIR",
    "SENSITIVITY_PARAMETERS",
    "SIMULATED_DOMAINS",
    "Comparison",
    "Dependence",
    "GlobalSensitivity",
    "Headline",
    "LeverageError",
    "LossKey",
    "Pathway",
    "SimulatedLosses",
    "assumptions_table",
    "balance_matrix",
    "break_even",
    "check_regions",
    "compare_all",
    "compare_pathways",
    "comparison_tables",
    "cutoff_costs",
    "dependence_path",
    "deterrence",
    "escalation_ladder",
    "find_pathway",
    "global_sensitivity",
    "leverage_balance",
    "leverage_headline",
    "load_dependences",
    "load_pathway",
    "pathways_to_compare",
    "present_value",
    "run_pathway",
    "sensitivity",
    "shipped_pathways",
    "simulated_cutoffs",
    "simulated_losses",
    "substitution_rate",
    "with_horizon",
]
