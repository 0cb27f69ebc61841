"""The Dagster code location: `dagster dev -m orchestration.definitions` (or `dg dev`) shows it."""

import dagster as dg

from orchestration.defs.build import build_definitions


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
