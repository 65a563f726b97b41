"""Looking forward: demand from technology drivers (:mod:`.demand`), supply from the project
pipeline with its risk (:mod:`.pipeline`), the balance and concentration path (:mod:`.balance`),
projected networks (:mod:`.projection`), pressure points (:mod:`.pressure`), composed by
:func:`outlook` (:mod:`.result`)."""

from chokepoint.foresight.demand import (
    iea_comparison,
    load_outlook_scenario,
    shipped_outlook_scenarios,
    technology_demand,
)
from chokepoint.foresight.pipeline import Pipeline, expected_capacity, pipeline, pipeline_projects
from chokepoint.foresight.pressure import PressureRanking, pressure_inputs, pressure_points
from chokepoint.foresight.result import Outlook, outlook, projected_dataset
from chokepoint.foresight.scenario import OutlookError, OutlookScenario

__all__ = [
    "Outlook",
    "OutlookError",
    "OutlookScenario",
    "Pipeline",
    "PressureRanking",
    "expected_capacity",
    "iea_comparison",
    "load_outlook_scenario",
    "outlook",
    "pipeline",
    "pipeline_projects",
    "pressure_inputs",
    "pressure_points",
    "projected_dataset",
    "shipped_outlook_scenarios",
    "technology_demand",
]
