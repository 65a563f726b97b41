"""Looking forward: supply from the project pipeline with its risk (:mod:`.pipeline`)."""

from chokepoint.outlook.pipeline import Pipeline, expected_capacity, pipeline, pipeline_projects

__all__ = ["Pipeline", "expected_capacity", "pipeline", "pipeline_projects"]
