"""The Dagster code location: `dagster dev -m orchestration.definitions` (or `dg dev`) shows it."""

import dagster as dg

import orchestration.defs
from orchestration.lib import instance_storage

instance_storage.commit_without_waiting_for_the_disk()  # the run workers the daemon starts load this module


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_defs(orchestration.defs)
