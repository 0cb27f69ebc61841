"""Kill anywhere (issue 15): the real `expansion run`, SIGKILLed during a table's load, between the HubSpot checks
and its sync, during `dbt build`, after HubSpot applied a create whose answer never came back, and with a Klaviyo
event in flight; after every kill the guarantees hold, and the run that follows ends where an uninterrupted run
ends. And the harness fails when a guarantee is broken on purpose (the ledger's write-ahead switched off).

The kills are chained on one warehouse, one run each (tests/support/kill_harness.py has the harness and the
checker). The uninterrupted reference run goes on in the background meanwhile, on the second core; what each kill
leaves is copied aside and checked as soon as the reference has ended.
"""

from __future__ import annotations

import copy
import random
import shutil
import signal
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from orchestration.lib.sync.hubspot import BATCH_CREATE_PATH, BATCH_UPDATE_PATH
from orchestration.lib.sync.klaviyo import EVENTS_PATH
from tests.conftest import read_warehouse
from tests.support.kill_harness import (
    DbtTrigger,
    ExpansionRun,
    Harness,
    LineTrigger,
    OpenFileTrigger,
    Snapshot,
    Trigger,
    VendorTrigger,
    check,
    format_evidence,
)

SEED = 15  # the number; another seed kills at other moments of the same points
LOST_ANSWER = VendorTrigger("hubspot", BATCH_CREATE_PATH, "processed")


def kill_points(rng: random.Random, landing: Path) -> list[tuple[str, Trigger]]:
    """The chain, in order: (label, where the run dies).

    (c) before (b), so that (b) kills a rebuild: marts and a publication are there, and must stay as they were or
    become the new ones. (e) before (d): a run syncs HubSpot first, so the run killed at (d) replays (e)'s batch
    before it reaches Klaviyo.
    """
    return [
        # the loader opens a landing file only inside the table's load transaction, several times (5 to 10 here):
        # the first to fourth opening of usage_events' file lands early or late in it
        ("a", OpenFileTrigger("] start raw__usage_events", str(landing / "usage_events") + "/",
                              opening=1)),  # a later opening can pass between two polls on a fast machine
        ("c", LineTrigger("start destinations__hubspot_companies")),
        # dbt builds 39 models: the 21st is the first mart (copurchase_pairs), the incremental ones come after it
        ("b", DbtTrigger(models=rng.randint(21, 37))),
        ("e", LOST_ANSWER),
        ("d", VendorTrigger("klaviyo", EVENTS_PATH, "received")),
    ]


class Uninterrupted:
    """The reference run, going on in the background until its warehouse is asked for."""

    def __init__(self, harness: Harness, run: ExpansionRun) -> None:
        self.harness, self.run = harness, run
        self._warehouse: Path | None = None

    def done(self) -> bool:
        return self.run.done()

    def warehouse(self) -> Path:
        """The reference warehouse, once the run has ended well and its own delivery passed the checker."""
        if self._warehouse is None:
            self.harness.finish(self.run)
            assert self.run.returncode == 0, f"the uninterrupted run failed:\n{self.run.summary}\n{self.run.tail()}"
            snapshot = self.harness.snapshot()
            # the checker on a run nothing interrupted: it must find nothing wrong
            assert check(snapshot, self.harness.warehouse, complete=True) == []
            assert snapshot.vendors.duplicate_events() == 0
            print(f"uninterrupted run: {self.run.seconds:.1f} s", flush=True)
            self._warehouse = self.harness.warehouse
        return self._warehouse


@pytest.fixture(scope="module")
def uninterrupted(small_landing: Path, tmp_path_factory: pytest.TempPathFactory, hubspot_mock: str,
                  klaviyo_mock: str) -> Iterator[Uninterrupted]:
    """An uninterrupted `expansion run` on the same landing and as-of date, to vendors of its own, started now."""
    with Harness(tmp_path_factory.mktemp("uninterrupted"), small_landing, hubspot_mock, klaviyo_mock) as harness:
        yield Uninterrupted(harness, harness.start("uninterrupted"))


def check_when_ready(pending: list[Snapshot], reference: Uninterrupted, wait: bool = False) -> None:
    """Check the snapshots kept so far once the reference exists (waiting for it when `wait`)."""
    if not (wait or reference.done()):
        return
    warehouse = reference.warehouse()
    while pending:
        snapshot = pending.pop(0)
        problems = check(snapshot, warehouse, complete=snapshot.label == "final")
        assert problems == [], f"after run {snapshot.label}:\n" + "\n".join(problems)
        if snapshot.label != "final":
            shutil.rmtree(snapshot.warehouse.parent)  # kept only when something is wrong with it


@pytest.mark.slow
def test_killed_anywhere_the_guarantees_hold_and_a_rerun_ends_as_an_uninterrupted_run(
        small_landing: Path, tmp_path: Path, hubspot_mock: str, klaviyo_mock: str,
        uninterrupted: Uninterrupted) -> None:
    pending: list[Snapshot] = []
    with Harness(tmp_path / "killed", small_landing, hubspot_mock, klaviyo_mock) as harness:
        for label, trigger in kill_points(random.Random(SEED), small_landing):
            run = harness.run(label, trigger)
            print(f"kill {label} ({trigger}): {format_evidence(harness.evidence())}", flush=True)
            assert run.returncode == -signal.SIGKILL and run.kill is not None, (
                f"run {label} was to die at {trigger} but ended with {run.returncode}:\n{run.tail()}")
            pending.append(harness.snapshot())
            if label == "a":  # killed inside the load's transaction: the table is not there, as if never loaded
                assert read_warehouse(pending[-1].warehouse, "select count(*) from duckdb_tables() where "
                                      "schema_name = 'raw' and table_name = 'usage_events'") == [(0,)]
            check_when_ready(pending, uninterrupted)
        final = harness.run("final")
        print(f"final run: {format_evidence(harness.evidence())}", flush=True)
        assert final.returncode == 0, f"{final.summary}\n{final.tail()}"
        ended = harness.snapshot()
        pending.append(ended)
        state = ended.vendors
    check_when_ready(pending, uninterrupted, wait=True)

    # what the vendor-side kills hit, from the vendors' own records
    (lost_answer,) = state.writes_of("hubspot", BATCH_CREATE_PATH, "unanswered")
    assert lost_answer.run == "e" and len(lost_answer.keys) == len(state.properties) > 0
    assert not state.writes_of("hubspot", BATCH_CREATE_PATH, "applied")  # the replay created nothing ...
    replayed = {key for write in state.writes_of("hubspot", BATCH_UPDATE_PATH) for key in write.keys}
    assert replayed >= set(lost_answer.keys)  # ... it found the companies and updated them
    (in_flight,) = state.writes_of("klaviyo", EVENTS_PATH, "lost")
    assert in_flight.run == "d"
    # sent again by the next run, once
    assert [write.run for write in state.writes_of("klaviyo", EVENTS_PATH) if write.keys == in_flight.keys] == [
        "final"]
    assert set(state.created.values()) == {1}

    # and the checker is not blind: the same end, with one company made twice or the event lost, fails it
    doubled = copy.deepcopy(state)
    doubled.created[twice := sorted(doubled.created)[0]] += 1
    assert check(replace(ended, vendors=doubled), uninterrupted.warehouse(), complete=True) == [
        f"1 HubSpot companies created more than once (one per expansion_customer_id): {twice}."]
    lost = copy.deepcopy(state)
    lost.events.clear()
    problems = check(replace(ended, vendors=lost), uninterrupted.warehouse(), complete=True)
    assert [problem.split(":")[0] for problem in problems] == [
        "1 records the ledger calls delivered that klaviyo.events does not hold (lost)",
        "1 records of klaviyo.events's sync model that never reached it (lost)"], problems
    print("durations: " + ", ".join(f"{run.label} {run.seconds:.1f} s" for run in harness.runs)
          + f"; duplicate Klaviyo events: {state.duplicate_events()}", flush=True)


@pytest.mark.slow
def test_the_harness_fails_when_the_write_ahead_is_switched_off(
        small_landing: Path, tmp_path: Path, hubspot_mock: str, klaviyo_mock: str) -> None:
    # the chain's (e), HubSpot's answer to a create lost, in a child whose ledger.mark_pending does nothing
    # (tests/support/sabotaged_run.py); no reference run of its own: the tables are the chain test's business
    with Harness(tmp_path / "sabotaged", small_landing, hubspot_mock, klaviyo_mock,
                 module="tests.support.sabotaged_run", module_args=["no-write-ahead"]) as harness:
        run = harness.run("e", LOST_ANSWER)
        print(f"sabotaged kill e: {format_evidence(harness.evidence())}", flush=True)
        assert run.returncode == -signal.SIGKILL and run.kill is not None, run.tail()
        snapshot = harness.snapshot()

    problems = check(snapshot, reference=None)
    held = len(snapshot.vendors.properties)
    assert held > 0 and snapshot.vendors.created.total() == held  # the create was applied, once per company
    assert len(problems) == 1, problems  # the write-ahead, and nothing else
    assert problems[0].startswith(f"{held} records at hubspot.companies that the ledger does not know were sent")
    print(f"the checker: {problems[0]}", flush=True)
