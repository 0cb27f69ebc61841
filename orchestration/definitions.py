"""The Dagster code location: `dagster dev -m orchestration.definitions` (or `dg dev`) shows it."""

import dagster as dg

import orchestration.defs


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_defs(orchestration.defs)
