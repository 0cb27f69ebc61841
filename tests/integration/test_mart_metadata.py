"""Every mart's materialization carries its row count and a preview; NRR, GRR and the lift are numbers the UI
plots across runs, equal to the marts' own figures."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from orchestration.lib.names import BUILD_JOB
from orchestration.lib.settings import Settings
from orchestration.run.pipeline import load_definitions, run_config
from orchestration.run.progress import progress_logger
from tests.conftest import AS_OF, read_warehouse


@pytest.mark.slow
def test_marts_carry_row_counts_previews_and_plotted_figures(loaded_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(loaded_warehouse, warehouse)
    settings = Settings(warehouse=warehouse, dbt_target_path=tmp_path / "target", sync=False,
                        dbt_vars={"as_of_date": AS_OF, "cross_sell_min_pair_orders": 3})
    job = load_definitions().resolve_job_def(BUILD_JOB).with_logger_defs({"progress": progress_logger})
    config = run_config(job, settings)
    selection = [key for key in job.asset_layer.selected_asset_keys if key.path[0] != "raw"]
    result = job.execute_in_process(run_config=config, asset_selection=selection, raise_on_error=False,
                                    instance=dg.DagsterInstance.ephemeral())
    materializations = {event.asset_key.path[-1]: event.metadata
                        for event in result.get_asset_materialization_events()
                        for event in [event.event_specific_data.materialization]
                        if event.asset_key.path[0] == "marts"}
    assert {"mrr_monthly", "nrr_monthly", "copurchase_pairs", "expansion_programme_lift"} <= set(materializations)
    for name, metadata in materializations.items():
        rows = read_warehouse(warehouse, f'select count(*) from marts."{name}"')[0][0]
        assert metadata["dagster/row_count"].value == rows, name
        assert metadata["preview"].value.startswith("| "), name
    nrr, grr = read_warehouse(warehouse, "select nrr_12m, grr_12m from marts.nrr_monthly where nrr_12m is not null "
                                         "order by month desc limit 1")[0]
    assert materializations["nrr_monthly"]["nrr_12m"].value == pytest.approx(float(nrr))
    assert materializations["nrr_monthly"]["grr_12m"].value == pytest.approx(float(grr))
    assert isinstance(materializations["nrr_monthly"]["nrr_12m"], dg.FloatMetadataValue)
    closed = read_warehouse(warehouse, "select programme, conversion_rate_difference from "
                                       "marts.expansion_programme_lift where is_window_closed "
                                       "qualify row_number() over (partition by programme "
                                       "order by send_month desc) = 1")
    for programme, difference in closed:
        assert materializations["expansion_programme_lift"][f"{programme}_lift"].value == pytest.approx(difference)
