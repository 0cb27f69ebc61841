"""The daily soak (issue 15): `expansion run` once a day, day after day, on a landing directory that grows a day at a
time, against vendors that keep what they are sent; one day of faults and one killed run on the way; then every
guarantee that must hold across all of it.

    with Soak(folder, history, hubspot_prism, klaviyo_prism, Plan(days=60)) as soak:
        report = soak.run()
    assert report.problems == []
    print(report.text())

The landing directory is the generated `history` as it stood at the end of each day
(orchestration/lib/generator/timeline.py): new orders, order lines, usage, contacts and customers every day, the
subscription history (upgrades, downgrades, churn as they happened) rewritten, and on top of it late-arriving
orders, orders cancelled after delivery, a subscription line corrected back to its start, a product switched off,
and contacts who unsubscribe the day after their order is delivered, the day its cross-sell e-mail falls due.
HubSpot and Klaviyo are the kill harness's `KeptVendors` (tests/support/kill_harness.py), each write judged by
Prism against the vendor's spec first. On the fault day a 429 storm, 5xx answers and dropped connections meet
the first requests (what no request met that day waits for the next); from the kill day on, the first run that
writes an event to Klaviyo is SIGKILLed once the event is stored and before its answer leaves, and the day is run
again. A day stopped by volume gates and nothing else (a real surge, as the generated late November brings) is run
again with `--accept-volume-change` for those tables, as an operator reading its summary would.

What `Report.problems` holds, one sentence each:

- **failed days**: a day whose last run failed, whatever the reason (its deliveries could not be checked);

- **lost**: a record of a day's sync model, after that day's run ended well, missing at its vendor, held there
  with another payload, or not `delivered` in the ledger; a record the ledger calls delivered that the vendor does
  not hold; a delivery log that does not count the writes the vendors applied;
- **duplicates**: a HubSpot company created twice; a HubSpot payload applied more often than the sync model
  changed to it (plus once per answer a kill swallowed); a Klaviyo event stored twice under one unique_id, beyond
  the answers a kill swallowed (which Klaviyo absorbs by unique_id, and which are counted apart);
- **unsubscribed sends**: an event sent on a day whose landing files already held the contact's opt-out;
- **cool-downs**: two cross-sell e-mails to one contact less than `cross_sell_frequency_cap_days` apart; a new
  HubSpot flag less than `upsell_cooldown_days` after the one before it without a trigger that one lacked;
- **ledger and log**: a ledger row whose state is not its latest log row's, whose attempts are not its log
  rows, or still `pending` after a run that ended well;
- **growth**: the warehouse, or the time of a daily run, growing more than `GROWTH_TOLERANCE` times faster than
  the landing data, from the second day on (the first run writes a new, compact file; from the first update on
  DuckDB's file also holds free blocks, which later writes reuse). Run time: the CPU time (user + system, of
  the run and of dbt) of the last five daily runs against the first five after the first, medians; wall time
  is printed too, but moves with whatever else the machine runs.
"""

from __future__ import annotations

import copy
import itertools
import re
import shutil
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import yaml

from orchestration.lib import paths
from orchestration.lib.generator.timeline import BASE_PART, Changes, write_landing_as_of
from orchestration.lib.sync.hubspot import company_properties
from orchestration.lib.sync.klaviyo import EVENTS_PATH
from orchestration.lib.sync.ledger import payload_hash
from tests.support.fault_server import Drop, Respond
from tests.support.hubspot_fake import ID
from tests.support.kill_harness import (
    AS_OF,
    HUBSPOT,
    HUBSPOT_MODEL,
    KLAVIYO,
    KLAVIYO_MODEL,
    ExpansionRun,
    Findings,
    Harness,
    VendorState,
    VendorTrigger,
    fingerprint,
    ledger_of,
    records_of,
)

LAST_DAY = date.fromisoformat(AS_OF)
KILL = VendorTrigger("klaviyo", EVENTS_PATH, "processed")  # stored at Klaviyo, its answer lost
HUBSPOT_BATCH = "/crm/v3/objects/companies/batch"
GROWTH_TOLERANCE = 1.25
EDGE_DAYS = 5  # the daily runs compared at either end for run time
MB = 1024 * 1024


def retry_after(status: int, seconds: int = 1) -> Respond:
    return Respond(status, {"status": "error", "message": "Too many requests", "category": "RATE_LIMITS"},
                   {"Retry-After": str(seconds)})


# The fault day: a 429 storm, 5xx, and dropped connections, at both vendors, in that order.
FAULTS = {
    "hubspot": (HUBSPOT_BATCH, [retry_after(429)] * 4 + [Respond(503), Respond(502), Drop()]),
    "klaviyo": (EVENTS_PATH, [retry_after(429)] * 4 + [Respond(500), Respond(503), Drop()]),
}


@dataclass(frozen=True)
class Plan:
    """`days` daily runs up to `last_day`; faults on day `fault_day`, the kill from day `kill_day` (1-based)."""

    days: int = 60
    last_day: date = LAST_DAY
    fault_day: int = 20
    kill_day: int = 40

    @property
    def first_day(self) -> date:
        return self.last_day - timedelta(days=self.days - 1)

    def day(self, number: int) -> date:
        return self.first_day + timedelta(days=number - 1)


@dataclass
class Day:
    """One day of the soak: its runs and what they left."""

    number: int
    day: date
    runs: list[str] = field(default_factory=list)  # "label exit seconds"
    seconds: float = 0.0  # of the run that ended the day
    cpu_seconds: float = 0.0  # user + system time of that run and its processes (dbt), which contention barely moves
    exit: int | None = None
    landing_rows: int = 0
    warehouse_bytes: int = 0
    instance_bytes: int = 0
    prepare_seconds: float = 0.0
    faults_met: int = 0
    hubspot: dict[str, str] = field(default_factory=dict)  # the HubSpot sync model: key -> payload fingerprint
    companies_written: int = 0
    events_sent: int = 0
    killed: str | None = None
    accepted: list[str] = field(default_factory=list)  # tables whose change in volume the operator accepted


@dataclass
class Report:
    """The figures of a soak and every guarantee it broke (`problems`)."""

    plan: Plan
    days: list[Day]
    figures: dict[str, Any]
    problems: list[str]

    def text(self) -> str:
        """The day-by-day table, the totals and the problems, as the benchmark prints them."""
        header = ("day", "as of", "landing rows", "run s", "CPU s", "exit", "companies written", "events sent",
                  "warehouse MB", "instance MB", "faults met", "notes")
        rows = [(str(day.number), str(day.day), f"{day.landing_rows:,}", f"{day.seconds:.1f}",
                 f"{day.cpu_seconds:.1f}", str(day.exit),
                 str(day.companies_written), str(day.events_sent), f"{day.warehouse_bytes / MB:.1f}",
                 f"{day.instance_bytes / MB:.1f}", str(day.faults_met), day.killed or "") for day in self.days]
        widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
        lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
                 for row in (header, *rows)]
        lines.append("")
        lines += [f"{name}: {value}" for name, value in self.figures.items()]
        lines.append("")
        lines.append("problems: " + ("none" if not self.problems else ""))
        lines += [f"- {problem}" for problem in self.problems]
        return "\n".join(lines)


def dbt_var(name: str) -> int:
    project = yaml.safe_load((paths.DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return int(project["vars"][name])


def rows_of(history: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql.format(history=history)).fetchall()
    finally:
        con.close()


def soak_changes(history: Path, plan: Plan) -> Changes:
    """What happens to the extract on top of the generated history, spread over the soak's days: late orders
    (arriving four days after their last change), delivered orders cancelled, a subscription line corrected back to
    its start, a product switched off, and primary contacts unsubscribing the day after their order's delivery."""
    first, last = plan.first_day, plan.last_day
    spread = max(1, plan.days // 10)
    orders = "read_parquet('{history}/orders/*.parquet')"
    late = rows_of(history, f"""
        select order_id, cast(max(updated_at) as date) + 4 from {orders} group by order_id
        having cast(max(updated_at) as date) between date '{first + timedelta(days=1)}' and date '{last - timedelta(4)}'
        order by hash(order_id) limit {spread}""")
    cancelled = rows_of(history, f"""
        select order_id from {orders} where status = 'delivered' and cast(delivered_at as date) < date '{first}'
        and ordered_at > date '{first}' - interval 90 day order by hash(order_id) limit {spread}""")
    corrected = rows_of(history, f"""
        select item_id from read_parquet('{{history}}/subscription_items/*.parquet') where status = 'active'
        and valid_to is null and valid_from < date '{first}' - interval 90 day order by hash(item_id) limit 1""")
    product = rows_of(history, "select product_id from read_parquet('{history}/products.parquet') where is_active "
                               "order by hash(product_id) limit 1")
    unsubscribing = rows_of(history, f"""
        with deliveries as (
            select customer_id, cast(delivered_at as date) as delivered_on from {orders}
            where status = 'delivered' and cast(delivered_at as date) between date '{first}' and date '{last}' - 1
            qualify row_number() over (partition by order_id order by updated_at desc) = 1
        ),
        contacts as (
            select * from read_parquet('{{history}}/contacts/*.parquet')
            qualify row_number() over (partition by contact_id order by updated_at desc) = 1
        )
        select contact_id, min(delivered_on) + 1 from deliveries join contacts using (customer_id)
        where is_primary and email_opt_in and unsubscribed_at is null and updated_at < delivered_on
        group by contact_id order by hash(contact_id) limit {max(2, plan.days // 6)}""")
    number = 0

    def later(base: int) -> date:
        nonlocal number
        number += 1
        return plan.day(min(plan.days, max(2, base + number)))

    return Changes(hold_back={order: min(day, last) for order, day in late},
                   cancel={order: later(plan.days // 3) for (order,) in cancelled},
                   correct_quantity={item: later(plan.days // 2) for (item,) in corrected},
                   deactivate={item: later(plan.days * 3 // 4) for (item,) in product},
                   unsubscribe=dict(unsubscribing))


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) if folder.exists() else 0


def landing_rows(landing: Path) -> int:
    con = duckdb.connect()
    try:
        return con.execute(f"select sum(num_rows) from parquet_file_metadata('{landing}/**/*.parquet')").fetchone()[0]
    finally:
        con.close()


class Soak:
    """One warehouse and its vendors (a kill harness), refreshed once a day for `plan.days` days."""

    def __init__(self, folder: Path, history: Path, hubspot_prism: str, klaviyo_prism: str,
                 plan: Plan | None = None, changes: Changes | None = None) -> None:
        self.plan = plan or Plan()
        self.history = history
        self.landing = folder / "landing"
        self.changes = changes if changes is not None else soak_changes(history, self.plan)
        self.harness = Harness(folder / "harness", self.landing, hubspot_prism, klaviyo_prism)
        self.days: list[Day] = []
        self.properties_by_day: list[dict[str, dict[str, str]]] = []  # what HubSpot held at the end of each day
        self.day_findings = Findings()  # what the day checks found; the report adds the rest
        self.findings = self.day_findings

    def __enter__(self) -> Soak:
        shutil.rmtree(self.landing, ignore_errors=True)
        self.harness.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.harness.__exit__(kind, error, trace)

    def run(self, progress: bool = True) -> Report:
        """Every day of the plan, then the report."""
        for number in range(1, self.plan.days + 1):
            day = self.run_day(number)
            if progress:
                print(f"soak day {day.number} ({day.day}): {', '.join(day.runs)}; {day.landing_rows:,} landing rows, "
                      f"{day.companies_written} companies written, {day.events_sent} events sent"
                      + (f"; killed: {day.killed}" if day.killed else ""), flush=True)
        return self.report()

    def run_day(self, number: int) -> Day:
        day = Day(number, self.plan.day(number))
        started = time.monotonic()
        write_landing_as_of(self.history, self.landing, day.day, first_day=self.plan.first_day, changes=self.changes)
        day.prepare_seconds = time.monotonic() - started
        day.landing_rows = landing_rows(self.landing)
        self.harness.run_vars = ["--var", f"as_of_date={day.day}", "--var", "cross_sell_min_pair_orders=3"]
        if number == self.plan.fault_day:
            for vendor, (path, faults) in FAULTS.items():
                self.harness.script(vendor, "POST", path, *faults)
        faults_before = self.harness.pending_faults()
        writes_before = len(self.harness.vendors.writes)
        label = f"d{number:02d}"
        killed_before = any(earlier.killed for earlier in self.days)
        trigger = KILL if number >= self.plan.kill_day and not killed_before else None
        run = self.harness.run(label, trigger)
        day.runs.append(describe(run))
        if run.kill is not None:
            day.killed = run.kill.why
            run = self.harness.run(f"{label}-rerun")
            day.runs.append(describe(run))
        accepted = volume_changes_to_accept(run)
        if accepted:  # the operator reads the summary, finds a real change in volume and accepts it, as it says
            day.accepted = accepted
            vars_ = self.harness.run_vars
            self.harness.run_vars = [*vars_, "--accept-volume-change", *accepted]
            run = self.harness.run(f"{label}-accepted")
            self.harness.run_vars = vars_
            day.runs.append(describe(run))
        day.seconds, day.exit = run.seconds, run.returncode
        day.cpu_seconds = run.cpu_seconds
        day.faults_met = faults_before - self.harness.pending_faults()
        state = self.harness.vendors.state()
        self.properties_by_day.append(state.properties)
        today = state.writes[writes_before:]
        day.companies_written = sum(len(write.keys) for write in today
                                    if write.vendor == "hubspot" and write.fate in ("applied", "unanswered"))
        day.events_sent = sum(1 for write in today if write.vendor == "klaviyo" and write.fate in
                              ("applied", "unanswered"))
        day.warehouse_bytes = sum(path.stat().st_size for path in self.harness.warehouse.parent.glob(
            f"{self.harness.warehouse.name}*") if path.is_file() and not path.name.endswith(".lock"))
        day.instance_bytes = folder_bytes(self.harness.dagster_home)
        self.check_day(day, state, ended_well=run.returncode == 0)
        self.days.append(day)
        return day

    def check_day(self, day: Day, vendors: VendorState, ended_well: bool) -> None:
        """After a run that ended well, its sync models are at the vendors and delivered in the ledger; either way
        the HubSpot model is kept, to count the changes each company went through."""
        self.findings = self.day_findings
        con = duckdb.connect(str(self.harness.warehouse), read_only=True)
        try:
            companies, events, ledger = records_of(con, HUBSPOT_MODEL), records_of(con, KLAVIYO_MODEL), ledger_of(con)
        finally:
            con.close()
        day.hubspot = {key: fingerprint(company_properties(record, ID)) for key, record in (companies or {}).items()}
        if not ended_well:
            return
        for key, record in (companies or {}).items():
            if vendors.properties.get(key) != company_properties(record, ID):
                self.findings.add("lost: companies of a day's HubSpot sync model not at HubSpot as the model holds "
                                  "them after the day's run", f"{key} (day {day.number})")
            entry = ledger.get((HUBSPOT, key))
            if entry is None or entry.status != "delivered" or entry.payload_hash != payload_hash(record.payload):
                self.findings.add("lost: companies of a day's HubSpot sync model not delivered with their payload "
                                  "in the ledger", f"{key} (day {day.number})")
        for key in events or {}:
            entry = ledger.get((KLAVIYO, key))
            if key not in vendors.events:
                self.findings.add("lost: events of a day's Klaviyo sync model never stored at Klaviyo",
                                  f"{key} (day {day.number})")
            if entry is None or entry.status != "delivered":
                self.findings.add("lost: events of a day's Klaviyo sync model the ledger does not call delivered",
                                  f"{key} (day {day.number})")
        for (destination, key), entry in ledger.items():
            if entry.status == "pending":
                self.findings.add("ledger rows still pending after a run that ended well",
                                  f"{destination}:{key} (day {day.number})")

    # --- the report ---------------------------------------------------------------------------------------------

    def report(self, vendors: VendorState | None = None) -> Report:
        """The figures and every broken guarantee, of `vendors` (default: what the soak's vendors hold now)."""
        vendors = vendors or self.harness.vendors.state()
        self.findings = Findings(copy.deepcopy(self.day_findings.groups))
        for day in self.days:
            if day.exit != 0:
                self.findings.add("days whose last run failed (nothing of theirs was checked at the vendors)",
                                  f"day {day.number}: {day.runs[-1]}")
        sends = self.event_sends(vendors)
        duplicates = self.duplicate_problems(vendors)
        self.end_problems(vendors)
        unsubscribed, planted_sent = self.unsubscribed_problems(vendors, sends)
        self.cooldown_problems(vendors, sends)
        growth = self.growth()
        ledger_rows, log_rows, expired = self.ledger_problems(vendors)
        figures = {
            "days": len(self.days),
            "runs": sum(len(day.runs) for day in self.days),
            "runs that ended well": sum(run.split()[1] == "0" for day in self.days for run in day.runs),
            "landing rows, first and last day": f"{self.days[0].landing_rows:,} -> {self.days[-1].landing_rows:,}",
            "companies at HubSpot": len(vendors.properties),
            "company payload changes in the sync model": sum(sum(changes(self.days, key).values())
                                                             for key in vendors.properties),
            "company payloads applied": sum(vendors.applied.values()),
            "events at Klaviyo (unique_ids)": len(vendors.events),
            "records delivered": len(vendors.properties) + len(vendors.events),
            "duplicates": duplicates,
            "events sent again after an answer lost to the kill (absorbed by unique_id)":
                vendors.duplicate_events(),
            "lost": sum(len(keys) for problem, keys in self.findings.groups.items() if problem.startswith("lost")),
            "expired (left the sync model undelivered)": expired,
            "unsubscribed sends": unsubscribed,
            "unsubscribes planted the day an e-mail fell due": f"{len(self.changes.unsubscribe)} "
                                                               f"({planted_sent} of them e-mailed before)",
            "ledger rows, log rows": f"{ledger_rows:,}, {log_rows:,}",
            "faults met": f"{sum(day.faults_met for day in self.days)} of "
                          f"{sum(len(faults) for _, faults in FAULTS.values())}, on days "
                          f"{[day.number for day in self.days if day.faults_met] or 'none'}",
            "killed": "; ".join(f"day {day.number}: {day.killed}" for day in self.days if day.killed) or "no",
            "volume changes the operator accepted": "; ".join(
                f"day {day.number}: {', '.join(day.accepted)}" for day in self.days if day.accepted) or "none",
            **growth,
        }
        return Report(self.plan, self.days, figures, self.findings.sentences())

    def event_sends(self, vendors: VendorState) -> dict[str, tuple[int, str]]:
        """unique_id -> (the day number it was first written to Klaviyo, the profile's e-mail)."""
        sends: dict[str, tuple[int, str]] = {}
        for write in vendors.writes:
            if write.vendor == "klaviyo" and write.fate in ("applied", "unanswered"):
                for key in write.keys:
                    if key not in vendors.events:
                        continue  # lost: the end check names it
                    email = vendors.events[key][0]["profile"]["data"]["attributes"]["email"]
                    sends.setdefault(key, (day_number(write.run), email.lower()))
        return sends

    def duplicate_problems(self, vendors: VendorState) -> int:
        duplicates = 0
        for key, times in vendors.created.items():
            if times > 1:
                duplicates += times - 1
                self.findings.add("duplicates: HubSpot companies created more than once", key)
        for (key, payload), times in vendors.applied.items():
            allowed = changes(self.days, key)[payload] + vendors.unanswered[("hubspot", key)]
            if times > allowed:
                duplicates += times - allowed
                self.findings.add("duplicates: HubSpot payloads applied more often than the sync model changed to "
                                  "them (plus once per answer lost to a kill)", key)
        extra = vendors.duplicate_events() - sum(times for (vendor, _), times in vendors.unanswered.items()
                                                 if vendor == "klaviyo")
        if extra > 0:
            duplicates += extra
            self.findings.add("duplicates: Klaviyo events stored again under their unique_id beyond the answers a "
                              "kill lost", f"{extra} events")
        return duplicates

    def end_problems(self, vendors: VendorState) -> None:
        """At the end: what the ledger calls delivered is at the vendor."""
        con = duckdb.connect(str(self.harness.warehouse), read_only=True)
        try:
            ledger = ledger_of(con)
        finally:
            con.close()
        held = {HUBSPOT: vendors.properties, KLAVIYO: vendors.events}
        for (destination, key), entry in ledger.items():
            if entry.status == "delivered" and key not in held.get(destination, {}):
                self.findings.add("lost: records the ledger calls delivered that the vendor does not hold",
                                  f"{destination}:{key}")

    def opt_outs(self) -> dict[str, date]:
        """e-mail -> the first day the landing files held an opted-out version of its contact."""
        con = duckdb.connect()
        try:
            rows = con.execute(f"""
                select lower(email), min(case when parse_filename(filename) = '{BASE_PART}'
                    then date '{self.plan.first_day}'
                    else strptime(regexp_extract(filename, 'part-d(\\d{{8}})', 1), '%Y%m%d')::date end)
                from read_parquet('{self.landing}/contacts/*.parquet', filename = true)
                where not coalesce(email_opt_in, false) or unsubscribed_at is not null
                group by all""").fetchall()
        finally:
            con.close()
        return dict(rows)

    def unsubscribed_problems(self, vendors: VendorState, sends: Mapping[str, tuple[int, str]]) -> tuple[int, int]:
        """(events sent to contacts whose opt-out had arrived, planted unsubscribers e-mailed before opting out)."""
        opted_out = self.opt_outs()
        violations = 0
        for key, (number, email) in sends.items():
            known = opted_out.get(email)
            if known is not None and known <= self.plan.day(number):
                violations += 1
                self.findings.add("unsubscribed sends: events sent on a day whose landing files held the "
                                  "contact's opt-out", f"{key} (day {number}, opted out {known})")
        planted = rows_of(self.history, "select distinct lower(email) from "
                                        "read_parquet('{history}/contacts/*.parquet') where contact_id in ("
                                        + ", ".join(f"'{contact}'" for contact in self.changes.unsubscribe) + ")"
                          ) if self.changes.unsubscribe else []
        e_mailed = {email for _, email in sends.values()}
        return violations, sum(email in e_mailed for (email,) in planted)

    def cooldown_problems(self, vendors: VendorState, sends: Mapping[str, tuple[int, str]]) -> None:
        cap = dbt_var("cross_sell_frequency_cap_days")
        by_contact: dict[str, list[int]] = defaultdict(list)
        for number, email in sends.values():
            by_contact[email].append(number)
        for email, numbers in by_contact.items():
            days = sorted(set(numbers))
            if any(later - earlier < cap for earlier, later in itertools.pairwise(days)) \
                    or len(numbers) > len(days):
                self.findings.add(f"cool-downs: contacts e-mailed twice within cross_sell_frequency_cap_days "
                                  f"({cap})", f"{email} (days {sorted(numbers)})")
        cooldown = dbt_var("upsell_cooldown_days")
        for key, flags in self.flag_sequences(vendors).items():
            for (earlier, before), (later, after) in itertools.pairwise(flags):
                if (later - earlier).days < cooldown and not after - before:
                    self.findings.add(f"cool-downs: HubSpot flags renewed within upsell_cooldown_days ({cooldown}) "
                                      "without a new trigger", f"{key} ({earlier:%Y-%m-%d} -> {later:%Y-%m-%d})")

    def flag_sequences(self, vendors: VendorState) -> dict[str, list[tuple[datetime, frozenset[str]]]]:
        """Per company, the distinct flags (flag instant, triggers) HubSpot held, in order, from the day snapshots
        of the HubSpot sync model that the day checks found at HubSpot, and HubSpot's own last state."""
        sequences: dict[str, list[tuple[datetime, frozenset[str]]]] = defaultdict(list)
        for properties in [*self.properties_by_day, vendors.properties]:
            for key, company in properties.items():
                flag = (datetime.fromisoformat(company["expansion_flagged_at"].replace("Z", "+00:00")),
                        frozenset(filter(None, company.get("expansion_triggers", "").split(";"))))
                if not sequences[key] or sequences[key][-1][0] != flag[0]:
                    sequences[key].append(flag)
        return sequences

    def ledger_problems(self, vendors: VendorState) -> tuple[int, int, int]:
        """(ledger rows, log rows, expired records); the ledger against its log and the log against the vendors."""
        con = duckdb.connect(str(self.harness.warehouse), read_only=True)
        try:
            mismatched = con.execute("""
                with latest as (
                    select destination, record_key, arg_max(status, attempted_at) as status,
                        arg_max(payload_hash, attempted_at) as payload_hash,
                        count(*) filter (where status <> 'expired') as attempts
                    from sync.delivery_log group by all
                )
                select ledger.destination || ':' || ledger.record_key
                from sync.delivery_ledger as ledger left join latest using (destination, record_key)
                where ledger.status <> 'pending' and (latest.status is distinct from ledger.status
                    or latest.payload_hash is distinct from ledger.payload_hash
                    or latest.attempts is distinct from ledger.attempts)""").fetchall()
            delivered = dict(con.execute("select destination, count(*) from sync.delivery_log where status = "
                                         "'delivered' group by all").fetchall())
            ledger_rows, log_rows, expired = con.execute(
                "select (select count(*) from sync.delivery_ledger), (select count(*) from sync.delivery_log), "
                "(select count(*) from sync.delivery_log where status = 'expired')").fetchone()
        finally:
            con.close()
        for (key,) in mismatched:
            self.findings.add("ledger and log: ledger rows whose status, payload hash or attempts are not their "
                              "log's", key)
        applied = Counter({HUBSPOT: 0, KLAVIYO: 0})
        for write in vendors.writes:
            if write.fate == "applied":
                applied[HUBSPOT if write.vendor == "hubspot" else KLAVIYO] += len(write.keys)
        for destination, count in applied.items():
            if delivered.get(destination, 0) != count:
                self.findings.add("lost: delivery logs that do not count the writes their vendor applied",
                                  f"{destination}: {delivered.get(destination, 0)} delivered in the log, {count} "
                                  "applied")
        return ledger_rows, log_rows, expired

    def growth(self) -> dict[str, str]:
        """The warehouse and the daily run time against the landing data, first to last."""
        if len(self.days) < 2:
            return {}
        first, last = self.days[0], self.days[-1]
        daily = self.days[1:]  # the first run writes a new file; any updated file also holds free blocks
        data = last.landing_rows / daily[0].landing_rows
        size = last.warehouse_bytes / daily[0].warehouse_bytes
        edge = min(EDGE_DAYS, max(1, len(daily) // 2))
        early = statistics.median(day.seconds for day in daily[:edge])
        late = statistics.median(day.seconds for day in daily[-edge:])
        early_cpu = statistics.median(day.cpu_seconds for day in daily[:edge])
        late_cpu = statistics.median(day.cpu_seconds for day in daily[-edge:])
        if size > data * GROWTH_TOLERANCE:
            self.findings.add(f"growth: the warehouse grew more than {GROWTH_TOLERANCE} times faster than the data",
                              f"{size:.2f}x against {data:.2f}x")
        if late_cpu / early_cpu > data * GROWTH_TOLERANCE:
            self.findings.add(f"growth: the daily run's CPU time grew more than {GROWTH_TOLERANCE} times faster than "
                              "the data", f"{late_cpu / early_cpu:.2f}x against {data:.2f}x")
        return {
            "landing data growth from the second day": f"{data:.3f}x",
            "warehouse growth from the second day": f"{size:.3f}x ({daily[0].warehouse_bytes / MB:.1f} -> "
                                                    f"{last.warehouse_bytes / MB:.1f} MB; "
                                                    f"{first.warehouse_bytes / MB:.1f} MB after the first day)",
            "Dagster instance": f"{first.instance_bytes / MB:.1f} -> {last.instance_bytes / MB:.1f} MB",
            "first run (full load)": f"{first.seconds:.1f} s",
            "daily run, median of the first and last days": f"{early:.1f} s -> {late:.1f} s ({late / early:.2f}x)",
            "its CPU time, median of the first and last days": f"{early_cpu:.1f} s -> {late_cpu:.1f} s "
                                                               f"({late_cpu / early_cpu:.2f}x, data {data:.3f}x)",
            "total run time": f"{sum(day.seconds for day in self.days):.0f} s",
        }


def changes(days: list[Day], key: str) -> Counter[str]:
    """How many times the HubSpot sync model changed `key` to each payload (fingerprint), day after day."""
    counted: Counter[str] = Counter()
    previous = None
    for day in days:
        payload = day.hubspot.get(key)
        if payload is not None and payload != previous:
            counted[payload] += 1
        previous = payload
    return counted


def volume_changes_to_accept(run: ExpansionRun) -> list[str]:
    """The tables to pass to `--accept-volume-change` when the run failed on volume gates and nothing else (a
    mart's or sync model's gate: `all`); none when it did not fail, or failed on anything else."""
    found = re.search(r"(\d+) blocking check\(s\) failed: (.*)", run.summary)
    if run.returncode != 1 or not found or re.search(r"Step \S+ failed: ", run.summary):
        return []
    failed = re.findall(r"(\S+?):(\w+) \(", found.group(2))
    if len(failed) != int(found.group(1)) or any(check != "volume_drift" for _, check in failed):
        return []
    tables = [asset.removeprefix("raw/") for asset, _ in failed]
    return sorted(set(tables)) if all(asset.startswith("raw/") for asset, _ in failed) else ["all"]


def day_number(label: str) -> int:
    """The day of a run label: `d07` and `d07-rerun` are day 7's."""
    return int(label[1:].split("-")[0])


def describe(run: ExpansionRun) -> str:
    return f"{run.label} {run.returncode} {run.seconds:.0f}s"
