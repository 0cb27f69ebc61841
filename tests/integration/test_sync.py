"""The gated syncs end to end: `expansion run` delivers each checked record once, and a failed check blocks."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from orchestration.lib import paths
from orchestration.lib.settings import EXPECTATIONS_DIR_ENV
from orchestration.run import cli
from tests.conftest import AS_OF, read_warehouse

SMALL_DATA_VARS = ["--var", "cross_sell_min_pair_orders=3", "--var", f"as_of_date={AS_OF}"]
SYNC_MODELS = {"hubspot.companies": "sync_hubspot__companies", "klaviyo.events": "sync_klaviyo__cross_sell_events"}
def run(landing: Path, warehouse: Path, outbox: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(["run", "--raw", str(landing), "--warehouse", str(warehouse), "--outbox", str(outbox),
                     *SMALL_DATA_VARS])
    return code, capsys.readouterr().out


def outbox_lines(outbox: Path, vendor: str) -> list[dict]:
    return [json.loads(line) for path in sorted((outbox / vendor).glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_run_delivers_every_checked_record_to_the_outbox_once(small_landing: Path, isolated_env: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    warehouse, outbox = isolated_env / "w.duckdb", isolated_env / "outbox"
    code, output = run(small_landing, warehouse, outbox, capsys)
    assert code == 0, output
    for vendor, model in SYNC_MODELS.items():
        rows = read_warehouse(warehouse, f"select * from sync.{model} order by record_key")
        lines = outbox_lines(outbox, vendor)
        assert rows, f"{model} is empty: the test data gives nothing to deliver"
        assert [line["key"] for line in lines] == [row[0] for row in rows]
        assert f"outbox:{vendor}: {len(rows):,} records, {len(rows):,} delivered, 0 unchanged" in output
    # every Klaviyo event goes to a consenting contact, checked against the raw contacts independently
    keys = {line["payload"]["contact_id"] for line in outbox_lines(outbox, "klaviyo.events")}
    consenting = {row[0] for row in read_warehouse(warehouse, """
        select contact_id from raw.contacts where email_opt_in and unsubscribed_at is null""")}
    assert keys <= consenting
    # HubSpot properties are all text, as the vendor requires
    for line in outbox_lines(outbox, "hubspot.companies"):
        assert all(isinstance(value, str) for value in line["payload"].values() if value is not None), line
    # the outbox holds e-mail addresses: owner-only folders and files
    modes = {path.relative_to(outbox).as_posix(): oct(stat.S_IMODE(path.stat().st_mode))
             for path in [outbox, *outbox.rglob("*")]}
    assert modes == {name: oct(0o600 if name.endswith(".jsonl") else 0o700) for name in modes}, modes

    # The same data again: nothing is sent twice.
    files_before = sorted(outbox.rglob("*.jsonl"))
    code, output = run(small_landing, warehouse, outbox, capsys)
    assert code == 0, output
    assert sorted(outbox.rglob("*.jsonl")) == files_before
    ledger = dict(read_warehouse(warehouse, """
        select destination, count(*) filter (where status = 'delivered') from sync.delivery_ledger group by 1"""))
    for vendor, model in SYNC_MODELS.items():
        total = read_warehouse(warehouse, f"select count(*) from sync.{model}")[0][0]
        assert f"outbox:{vendor}: {total:,} records, 0 delivered, {total:,} unchanged" in output
        assert ledger[f"outbox:{vendor}"] == total


@pytest.mark.slow
def test_a_failing_expectation_blocks_its_sync_and_fails_the_run(small_landing: Path, isolated_env: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    strict = isolated_env / "expectations"
    shutil.copytree(paths.DEFAULT_EXPECTATIONS_DIR, strict)
    suite_file = strict / "sync_klaviyo__cross_sell_events.json"
    suite = json.loads(suite_file.read_text())
    # a stricter suite the generated data cannot meet: every event must hold more products than top N allows
    suite["expectations"].append({"type": "expect_column_values_to_be_between",
                                  "kwargs": {"column": "recommendation_count", "min_value": 50, "max_value": 60},
                                  "meta": {}})
    suite_file.write_text(json.dumps(suite))
    monkeypatch.setenv(EXPECTATIONS_DIR_ENV, str(strict))

    warehouse, outbox = isolated_env / "w.duckdb", isolated_env / "outbox"
    code, output = run(small_landing, warehouse, outbox, capsys)
    assert code != 0
    assert "sync/sync_klaviyo__cross_sell_events:great_expectations" in output
    assert not (outbox / "klaviyo.events").exists()  # blocked: nothing left
    assert outbox_lines(outbox, "hubspot.companies")  # the other sync passed its gate and delivered
    delivered = read_warehouse(warehouse, "select distinct destination from sync.delivery_ledger")
    assert delivered == [("outbox:hubspot.companies",)]
