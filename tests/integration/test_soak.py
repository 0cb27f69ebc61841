"""The daily soak, short (issue 15): three days of `expansion run` on a landing directory that grows a day at a
time, with the faults on day 2 (absorbed by the HTTP client's retries and the sync step's own) and a run killed on
day 3 with a Klaviyo answer lost; every guarantee of tests/support/soak.py holds at the end.
`python -m benchmarks.bench_soak` runs the 60 days.

And the soak is not blind: the same report over vendors that lost an event, sent a company twice and e-mailed an
unsubscribed contact names each of them.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest

from orchestration.lib.generator import generate
from tests.support.kill_harness import AS_OF
from tests.support.soak import Plan, Soak, day_number

SOAK_SCALE = 0.2  # 2,000 customers: a dozen deliveries a day, so that e-mails fall due every day
PLAN = Plan(days=3, fault_day=2, kill_day=3)


@pytest.fixture(scope="module")
def soak_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    history = tmp_path_factory.mktemp("soak-history")
    generate(history, scale=SOAK_SCALE, seed=7, end_date=date.fromisoformat(AS_OF))
    return history


@pytest.mark.slow
def test_daily_runs_with_faults_and_a_kill_deliver_everything_once(
        soak_history: Path, tmp_path: Path, hubspot_mock: str, klaviyo_mock: str) -> None:
    with Soak(tmp_path, soak_history, hubspot_mock, klaviyo_mock, PLAN) as soak:
        report = soak.run()
        vendors = soak.harness.vendors.state()
        print(report.text(), flush=True)
        assert report.problems == [], report.text()
        figures = report.figures
        assert figures["duplicates"] == 0 and figures["lost"] == 0 and figures["unsubscribed sends"] == 0
        assert len(report.days) == 3 and all(day.exit == 0 for day in report.days), report.text()
        # the data grew every day, and each day's run loaded it
        rows = [day.landing_rows for day in report.days]
        assert rows == sorted(rows) and rows[0] < rows[-1]
        # every fault met day 2's run, whose sync steps retried until the vendors answered: nothing expired unsent
        assert report.days[1].faults_met == 14 and figures["expired (left the sync model undelivered)"] == 0
        assert report.days[1].events_sent > 0 and report.days[1].companies_written > 0
        # the kill happened on day 3, which was run again
        (killed,) = [day for day in report.days if day.killed]
        assert killed.number == 3 and len(killed.runs) == 2 and killed.runs[1].split()[1] == "0"
        (unanswered,) = [write for write in vendors.writes if write.fate == "unanswered"]
        assert unanswered.vendor == "klaviyo" and day_number(unanswered.run) == killed.number
        # Klaviyo got the event twice (the rerun did not know it had arrived) and keeps it once: counted apart
        assert figures["events sent again after an answer lost to the kill (absorbed by unique_id)"] == 1
        assert len(vendors.events) > 1 and len(vendors.properties) > 1
        assert set(vendors.created.values()) == {1}
        # the planted unsubscribes are in the landing data, and the contacts' opt-outs reached the check
        opt_outs = soak.opt_outs()
        assert len(soak.changes.unsubscribe) >= 2 and len(opt_outs) > len(soak.changes.unsubscribe)

        # the checks are not blind: the same soak with an event lost, a company made twice and an e-mail to an
        # opted-out contact
        broken = copy.deepcopy(vendors)
        lost_key = sorted(broken.events)[0]
        del broken.events[lost_key]
        twice = sorted(broken.created)[0]
        broken.created[twice] += 1
        opted_out = next(email for email, known in opt_outs.items() if known == PLAN.first_day and email not in {
            event[0]["profile"]["data"]["attributes"]["email"].lower() for event in broken.events.values()})
        first = next(write for write in broken.writes if write.vendor == "klaviyo" and write.fate == "applied"
                     and write.keys[0] != lost_key)
        broken.events[first.keys[0]][0]["profile"]["data"]["attributes"]["email"] = opted_out
        problems = soak.report(broken).problems
    assert any(problem.startswith("1 lost: records the ledger calls delivered that the vendor does not hold")
               for problem in problems), problems
    assert any(problem.startswith("1 duplicates: HubSpot companies created more than once") for problem in problems)
    assert any(problem.startswith("1 unsubscribed sends") for problem in problems), problems
