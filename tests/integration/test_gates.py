"""The gates row tests cannot see: a load that lost most of its orders, data months older than the as-of date,
and a mart that lost its rows each stop every sync with the failed check and its figures; unchanged data passes.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration.run import cli
from tests.conftest import AS_OF, read_warehouse

SMALL_DATA_VARS = ["--var", "cross_sell_min_pair_orders=3"]
VENDORS = ("hubspot.companies", "klaviyo.events")


def run(landing: Path, warehouse: Path, outbox: Path, capsys: pytest.CaptureFixture[str], *options: str,
        as_of: str = AS_OF) -> tuple[int, str]:
    code = cli.main(["run", "--raw", str(landing), "--warehouse", str(warehouse), "--outbox", str(outbox),
                     "--var", f"as_of_date={as_of}", *SMALL_DATA_VARS, *options])
    return code, capsys.readouterr().out


def published_run(warehouse: Path) -> str:
    """The run whose marts BI tools read now (lib/publish.py: published/ beside the warehouse)."""
    return read_warehouse(warehouse.parent / "published" / "marts.duckdb", "select _run_id from _publication")[0][0]


def delivered(outbox: Path) -> int:
    return sum(len(path.read_text().splitlines()) for path in outbox.rglob("*.jsonl"))


def keep_one_order_in_ten(source: Path, target: Path) -> None:
    """A copy of the landing directory that lost 90 % of its orders (and their lines) since the last extract."""
    shutil.copytree(source, target)
    con = duckdb.connect()
    kept = f"select order_id from read_parquet('{target}/orders/*.parquet') where hash(order_id) % 10 = 0"
    for table, condition in (("orders", f"order_id in ({kept})"), ("order_items", "order_id in (select * from kept)")):
        if table == "order_items":
            con.execute(f"create or replace temp table kept as {kept}")
        for part in sorted((target / table).glob("*.parquet")):
            con.execute(f"copy (select * from read_parquet('{part}') where {condition}) to '{part}.new' "
                        "(format parquet)")
            Path(f"{part}.new").replace(part)


@pytest.mark.slow
def test_gates_stop_every_sync_on_lost_orders_stale_data_and_a_shrunken_mart(
        small_landing: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    warehouse = isolated_env / "w.duckdb"
    # 1. the history: one good run without syncs (the first run has no history and says so)
    code, output = run(small_landing, warehouse, isolated_env / "outbox-0", capsys, "--no-sync")
    assert code == 0, output
    history = read_warehouse(warehouse, "select count(*), bool_and(accepted) from audit.volume_history")[0]
    assert history[0] >= 9 + 5 and history[1]
    good = published_run(warehouse)

    # 2. the landing directory lost most of its orders
    lost = isolated_env / "lost"
    keep_one_order_in_ten(small_landing, lost)
    code, output = run(lost, warehouse, isolated_env / "outbox-lost", capsys)
    assert code == 1
    assert "raw/orders:volume_drift (raw.orders has " in output and "% fewer than the median of the accepted runs" \
        in output and "beyond the limit of ±50%" in output
    assert delivered(isolated_env / "outbox-lost") == 0
    assert "Did not run because of that: " in output and "destinations/hubspot_companies" in output
    assert "published/marts" in output.split("Did not run because of that: ")[1]
    assert published_run(warehouse) == good and "Published marts not replaced" in output

    # 3. the newest events are months before the as-of date
    months_later = (date.fromisoformat(AS_OF) + timedelta(days=90)).isoformat()
    code, output = run(small_landing, warehouse, isolated_env / "outbox-stale", capsys, as_of=months_later)
    assert code == 1
    assert "raw/orders:fresh_at_as_of (raw.orders: the newest ordered_at is " in output
    assert "90.0 days before the as-of instant" in output and "beyond the limit of 48 hours" in output
    assert "raw/usage_events:fresh_at_as_of" in output and "raw/subscription_items:fresh_at_as_of" in output
    assert delivered(isolated_env / "outbox-stale") == 0

    # 4. raw data as before, but a mart loses most of its rows (a far stricter pair threshold): the mart volume
    #    gate stops both syncs, HubSpot's too, although its own model did not change
    code, output = run(small_landing, warehouse, isolated_env / "outbox-mart", capsys,
                       "--var", "cross_sell_min_pair_orders=1000")
    assert code == 1
    assert "audit/mart_volumes:volume_drift (marts.copurchase_pairs has 0 rows" in output
    assert delivered(isolated_env / "outbox-mart") == 0
    assert published_run(warehouse) == good  # a gated run leaves the last good marts to BI tools

    # 5. the unchanged data passes every gate and delivers
    code, output = run(small_landing, warehouse, isolated_env / "outbox-ok", capsys)
    assert code == 0, output
    assert delivered(isolated_env / "outbox-ok") == sum(
        read_warehouse(warehouse, f"select count(*) from sync.{model}")[0][0]
        for model in ("sync_hubspot__companies", "sync_klaviyo__cross_sell_events"))
    assert delivered(isolated_env / "outbox-ok") > 0
    assert published_run(warehouse) != good and "Published for BI tools: " in output

    # 6. a real drop is accepted on purpose: the run passes and its count is the new baseline (one order in ten
    #    of this small sample leaves days without orders, so the orders' freshness limit is widened too)
    monkeypatch.setenv("EXPANSION_FRESHNESS_HOURS", "orders=168")
    code, output = run(lost, warehouse, isolated_env / "outbox-accepted", capsys, "--no-sync",
                       "--accept-volume-change", "all")
    assert code == 0, output
    code, output = run(lost, warehouse, isolated_env / "outbox-after", capsys, "--no-sync")
    assert code == 0, output


def test_an_unknown_table_to_accept_is_one_sentence(isolated_env: Path, small_landing: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["run", "--raw", str(small_landing), "--warehouse", str(isolated_env / "w.duckdb"),
                     "--accept-volume-change", "order"])
    assert code == 2
    assert capsys.readouterr().err.startswith("expansion: --accept-volume-change order is not a table the volume "
                                              "gate watches; use one of ")
    assert not (isolated_env / "w.duckdb").exists()


@pytest.mark.slow
def test_a_failing_consent_test_blocks_the_sync(small_landing: Path, isolated_env: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A copy of the dbt project whose recommendations forget the consent filter, and whose unit test of that
    model was dropped with it (else the unit test stops the model first): the singular consent test, an asset check
    on cross_sell_recommendations, fails, and nothing reaches the outbox."""
    import yaml

    from orchestration.lib import paths

    project = isolated_env / "dbt_project"
    shutil.copytree(paths.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "intermediate" / "cross_sell" / "int_source_orders_selected.sql"
    consent_filter = ("        and contacts.email_opt_in\n        and contacts.is_email_consented\n"
                      "        and contacts.unsubscribed_at is null\n")
    assert consent_filter in model.read_text()
    model.write_text(model.read_text().replace(consent_filter, ""))
    models_yml = model.parent / "_cross_sell__models.yml"
    document = yaml.safe_load(models_yml.read_text())
    document["unit_tests"] = [test for test in document["unit_tests"] if test["model"] != "int_source_orders_selected"]
    models_yml.write_text(yaml.safe_dump(document, sort_keys=False))
    monkeypatch.setenv("EXPANSION_DBT_PROJECT_DIR", str(project))
    outbox = isolated_env / "outbox"
    code, output = run(small_landing, isolated_env / "w.duckdb", outbox, capsys)
    assert code == 1
    check = "marts/cross_sell_recommendations:assert_cross_sell_recommendations_address_consented_primary_contacts"
    assert check in output.split("blocking check(s) failed: ")[1]
    assert "Step dbt_build failed: dbt build failed: test assert_cross_sell_recommendations_address_consented_" \
        "primary_contacts (" in output
    assert delivered(outbox) == 0
    assert "destinations/klaviyo_cross_sell_events" in output.split("Did not run because of that: ")[1]
