"""The 60-day soak (issue 15): 60 daily `expansion run`s over data that grows day by day, against kept vendors.

    .venv/bin/python -m benchmarks.bench_soak            # 60 days at scale 0.2, about an hour on 2 cores
    .venv/bin/python -m benchmarks.bench_soak --days 10 --fault-day 4 --kill-day 6

The history (`expansion generate`, 2,000 customers at scale 0.2) is laid out day by day as its extracts would have
arrived, with late orders, cancellations, a corrected subscription line, a product switched off and contacts who
unsubscribe the day their cross-sell e-mail falls due (tests/support/soak.py says what, and what it checks).
HubSpot and Klaviyo are kept by the kill harness's vendors behind Prism mocks of their specs (`make tools`); on the
fault day they answer with a 429 storm, 5xx and dropped connections, and on the kill day the run is SIGKILLed
with a Klaviyo answer lost and run again. It prints the day-by-day table, the totals (runs, records, duplicates,
lost, unsubscribed sends, growth) and every broken guarantee; it exits 1 when there is one.
`tests/integration/test_soak.py` is the three-day version CI runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from benchmarks.harness import WORK_DIR
from orchestration.lib.generator import generate
from tests.support.fixtures import contracts_dir, without_untyped_nullable
from tests.support.prism import missing_prism, prism_mock
from tests.support.soak import LAST_DAY, Plan, Soak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fault-day", type=int, default=20)
    parser.add_argument("--kill-day", type=int, default=40)
    args = parser.parse_args()
    if problem := missing_prism():
        print(problem, file=sys.stderr)
        return 2
    plan = Plan(days=args.days, fault_day=args.fault_day, kill_day=args.kill_day)
    folder = WORK_DIR / f"soak-{args.days}d-s{args.scale:g}"
    shutil.rmtree(folder, ignore_errors=True)
    history = folder / "history"
    generate(history, scale=args.scale, seed=args.seed, end_date=LAST_DAY)
    print(f"soak: {args.days} days, {plan.first_day} to {plan.last_day}, scale {args.scale:g}; "
          f"faults on day {plan.fault_day}, the kill from day {plan.kill_day}; in {folder}", flush=True)
    with ExitStack() as stack, tempfile.TemporaryDirectory() as specs:
        klaviyo_spec = Path(specs) / "klaviyo.oas.json"
        klaviyo_spec.write_text(json.dumps(without_untyped_nullable(json.loads(
            (contracts_dir() / "klaviyo.oas.json").read_text(encoding="utf-8")))), encoding="utf-8")
        hubspot = stack.enter_context(prism_mock(contracts_dir() / "hubspot_crm.oas.json"))
        klaviyo = stack.enter_context(prism_mock(klaviyo_spec))
        with Soak(folder, history, hubspot, klaviyo, plan) as soak:
            report = soak.run()
    print()
    print(report.text())
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
