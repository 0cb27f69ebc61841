"""Kill anywhere (issue 15): the real `expansion run`, SIGKILLed during a table's load, during `dbt build`, between
the HubSpot checks and its sync, after HubSpot applied a create whose answer never came back, and with a Klaviyo
event in flight; after every kill the guarantees hold, and the run that follows ends where an uninterrupted run
ends. And the harness fails when a guarantee is broken on purpose (the ledger's write-ahead switched off).

The kills are chained on one warehouse, one run each (tests/support/kill_harness.py has the harness and the
checker). The runs the tests compare with go one after the other on a thread of their own, on the second core,
while the chain goes on: the uninterrupted reference, then the sabotaged run. What each kill leaves is copied aside
and checked as soon as the reference has ended.
"""

from __future__ import annotations

import random
import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from orchestration.lib.sync.hubspot import BATCH_CREATE_PATH, BATCH_UPDATE_PATH
from orchestration.lib.sync.klaviyo import EVENTS_PATH
from tests.support.kill_harness import (
    ExpansionRun,
    Harness,
    LineTrigger,
    LoadPace,
    Snapshot,
    Trigger,
    VendorTrigger,
    check,
    format_evidence,
)

SEED = 15  # the number; another seed kills at other moments of the same points
LOST_ANSWER = VendorTrigger("hubspot", BATCH_CREATE_PATH, "processed")
SABOTAGE = "no-write-ahead"  # tests/support/sabotaged_run.py: ledger.mark_pending does nothing
BACKGROUND_TIMEOUT_SECONDS = 1800.0


def kill_points(rng: random.Random) -> list[tuple[str, Trigger]]:
    """The chain, in order: (label, where the run dies). HubSpot's lost answer (e) comes before Klaviyo's event in
    flight (d): a run syncs HubSpot first, so the run killed at (d) replays (e)'s batch before it reaches Klaviyo."""
    return [
        # the line with a table's counts comes once its load has committed: land before it, in the load's
        # transaction, at a share of the time this run's earlier (smaller) tables took
        ("a", LineTrigger("start raw__usage_events", delay=LoadPace(round(rng.uniform(0.75, 1.0), 2)))),
        # "a few seconds after start dbt_build" depends on the machine; counting the models dbt has reported lands
        # mid-build on any: the 21st `built` line is the first mart (copurchase_pairs), the 39th the last
        ("b", LineTrigger("built ", count=rng.randint(21, 37))),
        ("c", LineTrigger("start destinations__hubspot_companies")),
        ("e", LOST_ANSWER),
        ("d", VendorTrigger("klaviyo", EVENTS_PATH, "received")),
    ]


class SecondCore:
    """The uninterrupted reference run, then the sabotaged (e) run, one after the other on a thread of their own."""

    def __init__(self, reference: Harness, sabotaged: Harness) -> None:
        self.reference_harness, self.sabotaged_harness = reference, sabotaged
        self._lock = threading.Lock()
        self._stopping = False
        self._reference_ended = threading.Event()
        self._reference_checked = False
        self._results: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._work, name="second-core", daemon=True)
        self._thread.start()

    def _run(self, harness: Harness, label: str, trigger: Trigger | None = None) -> ExpansionRun | None:
        with self._lock:
            if self._stopping:
                return None
            run = harness.start(label, trigger)
        return harness.finish(run)

    def _work(self) -> None:
        try:
            self._results["reference"] = self._run(self.reference_harness, "uninterrupted")
        except BaseException as error:  # handed to the test that asks
            self._results["reference"] = error
        finally:
            self._reference_ended.set()
        try:
            run = self._run(self.sabotaged_harness, "e", LOST_ANSWER)
            if run is not None:
                self._results["sabotaged"] = (run, self.sabotaged_harness.evidence(),
                                              self.sabotaged_harness.snapshot())
        except BaseException as error:
            self._results["sabotaged"] = error

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
        self.reference_harness.stop_runs()
        self.sabotaged_harness.stop_runs()
        self._thread.join(timeout=120)

    def reference_done(self) -> bool:
        return self._reference_ended.is_set()

    def reference(self) -> Path:
        """The reference warehouse, once the run has ended well and its own delivery passed the checker."""
        assert self._reference_ended.wait(BACKGROUND_TIMEOUT_SECONDS), "the uninterrupted run did not end"
        run = self._results.get("reference")
        if isinstance(run, BaseException):
            raise run
        assert run is not None and run.returncode == 0, f"the uninterrupted run failed:\n{run and run.summary}"
        if not self._reference_checked:
            snapshot = self.reference_harness.snapshot()
            # the checker on a run nothing interrupted: it must find nothing wrong
            assert check(snapshot, self.reference_harness.warehouse, complete=True) == []
            assert snapshot.vendors.duplicate_events() == 0
            self._reference_checked = True
            print(f"uninterrupted run: {run.seconds:.1f} s", flush=True)
        return self.reference_harness.warehouse

    def sabotaged(self) -> tuple[ExpansionRun, dict[str, Any], Snapshot]:
        self._thread.join(timeout=BACKGROUND_TIMEOUT_SECONDS)
        assert not self._thread.is_alive(), "the sabotaged run did not end"
        result = self._results.get("sabotaged")
        if isinstance(result, BaseException):
            raise result
        assert result is not None, "the sabotaged run never started"
        return result


@pytest.fixture(scope="module")
def second_core(small_landing: Path, tmp_path_factory: pytest.TempPathFactory, hubspot_mock: str,
                klaviyo_mock: str) -> Iterator[SecondCore]:
    """The runs the tests compare with, started at once: an uninterrupted `expansion run` on the same landing and
    as-of date, then the (e) kill in a child whose write-ahead is switched off; each with vendors of its own."""
    with ExitStack() as stack:
        reference = stack.enter_context(Harness(tmp_path_factory.mktemp("uninterrupted"), small_landing,
                                                hubspot_mock, klaviyo_mock))
        sabotaged = stack.enter_context(Harness(tmp_path_factory.mktemp("sabotaged"), small_landing, hubspot_mock,
                                                klaviyo_mock, module="tests.support.sabotaged_run",
                                                module_args=[SABOTAGE]))
        core = SecondCore(reference, sabotaged)
        try:
            yield core
        finally:
            core.stop()


def check_when_ready(pending: list[Snapshot], second_core: SecondCore, wait: bool = False) -> None:
    """Check the snapshots kept so far once the reference exists (waiting for it when `wait`)."""
    if not (wait or second_core.reference_done()):
        return
    reference = second_core.reference()
    while pending:
        snapshot = pending.pop(0)
        problems = check(snapshot, reference, complete=snapshot.label == "final")
        assert problems == [], f"after run {snapshot.label}:\n" + "\n".join(problems)


@pytest.mark.slow
def test_killed_anywhere_the_guarantees_hold_and_a_rerun_ends_as_an_uninterrupted_run(
        small_landing: Path, tmp_path: Path, hubspot_mock: str, klaviyo_mock: str, second_core: SecondCore) -> None:
    pending: list[Snapshot] = []
    with Harness(tmp_path / "killed", small_landing, hubspot_mock, klaviyo_mock) as harness:
        for label, trigger in kill_points(random.Random(SEED)):
            run = harness.run(label, trigger)
            print(f"kill {label} ({trigger}): {format_evidence(harness.evidence())}", flush=True)
            assert run.returncode == -signal.SIGKILL and run.kill is not None, (
                f"run {label} was to die at {trigger} but ended with {run.returncode}:\n{run.tail()}")
            pending.append(harness.snapshot())
            check_when_ready(pending, second_core)
        final = harness.run("final")
        print(f"final run: {format_evidence(harness.evidence())}", flush=True)
        assert final.returncode == 0, f"{final.summary}\n{final.tail()}"
        pending.append(harness.snapshot())
        state = harness.vendors.state()
    check_when_ready(pending, second_core, wait=True)

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
    print("durations: " + ", ".join(f"{run.label} {run.seconds:.1f} s" for run in harness.runs)
          + f"; duplicate Klaviyo events: {state.duplicate_events()}", flush=True)


@pytest.mark.slow
def test_the_harness_fails_when_the_write_ahead_is_switched_off(second_core: SecondCore) -> None:
    # the chain's (e) kill, HubSpot's answer to a create lost, in a child whose ledger.mark_pending does nothing
    run, evidence, snapshot = second_core.sabotaged()
    print(f"sabotaged kill e ({run.seconds:.1f} s): {format_evidence(evidence)}", flush=True)
    assert run.returncode == -signal.SIGKILL and run.kill is not None, run.tail()

    problems = check(snapshot, second_core.reference())
    held = len(snapshot.vendors.properties)
    assert held > 0
    assert len(problems) == 1, problems  # the write-ahead, and nothing else
    assert problems[0].startswith(f"{held} records at hubspot.companies that the ledger does not know were sent")
    print(f"the checker: {problems[0]}", flush=True)
