"""Looking forward: supply from the project pipeline with its risk (:mod:`.pipeline`) and
magnet rare-earth demand from technology drivers (:mod:`.demand`, scenario files in
:mod:`.scenario`)."""

from chokepoint.outlook.demand import (
    iea_comparison,
    load_outlook_scenario,
    shipped_outlook_scenarios,
    technology_demand,
)
from chokepoint.outlook.pipeline import Pipeline, expected_capacity, pipeline, pipeline_projects
from chokepoint.outlook.scenario import OutlookError, OutlookScenario

__all__ = [
    "OutlookError",
    "OutlookScenario",
    "Pipeline",
    "expected_capacity",
    "iea_comparison",
    "load_outlook_scenario",
    "pipeline",
    "pipeline_projects",
    "shipped_outlook_scenarios",
    "technology_demand",
]
