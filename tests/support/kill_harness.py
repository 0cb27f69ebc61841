"""Kill `expansion run` anywhere: the real command in a process of its own, SIGKILLed at a chosen point, and a
checker of everything that must hold after any kill.

    with Harness(folder, landing, hubspot_prism, klaviyo_prism) as harness:
        run = harness.run("a", LineTrigger("start raw__usage_events", delay=0.2))
        assert run.kill is not None
        snapshot = harness.snapshot()  # copies of what the kill left, to check once the reference is built
    assert check(snapshot, reference_warehouse) == []

A run is killed on one of its own progress lines (`LineTrigger`: standard error, e.g.
`start destinations__hubspot_companies`), as it opens a file (`OpenFileTrigger`: a landing file, inside a table's
load), once its `dbt build` has built so many models (`DbtTrigger`, from dbt's own log), or by the vendors at a
write (`VendorTrigger`): once the write has arrived but before it is applied
(`received`: the batch is lost in flight), or once it is applied but before the answer leaves (`processed`: the
answer is lost). The kill is SIGKILL to the run's PID, then to the rest of its process group (the run is started
in a session of its own), so the `dbt build` it started dies with it, as when the machine or the container goes:
SIGKILL to the PID alone leaves dbt running on, orphaned and holding the warehouse (for some 20 s in one trial):
a run started meanwhile stops before starting, in one sentence naming dbt's PID.

`KeptVendors` are HubSpot's companies and Klaviyo's events as the runs see them, kept across every run of one
harness; Prism judges each request against the vendor's own spec before it is applied. Unlike HubSpot with a
unique id property, a create for a key that already has a company makes a second one, and every event is kept
under its `unique_id`, so that a duplicate is seen rather than absorbed.

`check` returns every broken guarantee in one sentence each: the vendors against the sync models and the ledger,
the warehouse against an uninterrupted run's, the load counts, and the published marts.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

import duckdb
import requests

from orchestration.lib import compare, paths, settings
from orchestration.lib.names import DBT_OP
from orchestration.lib.publish import PUBLICATION_TABLE, PUBLISHED_FILE
from orchestration.lib.sync.delivery import read_records
from orchestration.lib.sync.destinations import Record
from orchestration.lib.sync.hubspot import (
    BATCH_CREATE_PATH,
    BATCH_READ_PATH,
    BATCH_UPDATE_PATH,
    HubSpotCompanies,
    company_properties,
)
from orchestration.lib.sync.klaviyo import DEFAULT_METRIC_NAME, EVENTS_PATH, KlaviyoEvents, event_request_body
from orchestration.lib.sync.ledger import payload_hash
from tests.support.fault_server import HOP_BY_HOP, Drop, Fault, FaultServer, RecordedRequest, Respond
from tests.support.hubspot_fake import ID, batch_answer, company, standard_error

AS_OF = "2026-11-22"
RUN_VARS = ("--var", f"as_of_date={AS_OF}", "--var", "cross_sell_min_pair_orders=3")
CLI_MODULE = "orchestration.run.cli"
TOKEN = "pat-kill-harness-token"
API_KEY = "pk_kill_harness_key"
VENDOR_ENV = ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_BASE_URL", "KLAVIYO_API_KEY", "KLAVIYO_BASE_URL")
HUBSPOT = HubSpotCompanies.name  # the ledger's destination names
KLAVIYO = KlaviyoEvents.name
HUBSPOT_MODEL = "sync.sync_hubspot__companies"
KLAVIYO_MODEL = "sync.sync_klaviyo__cross_sell_events"
DBT_LEFTOVERS = ("__dbt_backup", "__dbt_tmp")
RUN_TIMEOUT_SECONDS = 900.0
EXAMPLES = 3  # keys named in one sentence

Vendor = Literal["hubspot", "klaviyo"]
Phase = Literal["received", "processed"]


# --- where to kill ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineTrigger:
    """Kill the run `delay` seconds after the `count`-th progress line that contains `text`."""

    text: str
    count: int = 1
    delay: float = 0.0

    def __str__(self) -> str:
        nth = f"line number {self.count} with" if self.count > 1 else "the line with"
        return f"{self.delay:.2f} s after {nth} {self.text!r}"


@dataclass(frozen=True)
class OpenFileTrigger:
    """Kill the run as it opens a file whose path contains `path` for the `opening`-th time, watching its open files
    (/proc/PID/fd, polled without pause) from the progress line containing `after` on. The loader opens a landing
    file only inside the table's load transaction, so this lands inside it, on any machine."""

    after: str
    path: str
    opening: int = 1

    def __str__(self) -> str:
        return f"opening {self.opening} of a file with {self.path!r} in its path, after {self.after!r}"


@dataclass(frozen=True)
class DbtTrigger:
    """Kill the run once its `dbt build` has built `models` models, by dbt's own log (`dbt.log` in the run's
    folder under dbt's target path, written as dbt goes): Dagster's progress lines about dbt's models come seconds,
    at times the whole build, behind dbt, so counting them may kill after dbt has ended."""

    models: int

    def __str__(self) -> str:
        return f"once dbt build has built {self.models} models"


@dataclass(frozen=True)
class VendorTrigger:
    """Kill the run at its first write to `path` of `vendor`: on arrival (`received`) or once applied (`processed`)."""

    vendor: Vendor
    path: str
    phase: Phase

    def __str__(self) -> str:
        moment = "before applying it" if self.phase == "received" else "after applying it, before answering"
        return f"{self.vendor} {self.path}, {moment}"


Trigger = LineTrigger | OpenFileTrigger | DbtTrigger | VendorTrigger
RunTrigger = LineTrigger | OpenFileTrigger | DbtTrigger  # the ones a run watches itself


# --- the vendors --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """One write a vendor got: which run sent it, where, for which keys, and what became of it."""

    run: str
    vendor: Vendor
    path: str
    keys: tuple[str, ...]
    fate: Literal["applied", "lost", "unanswered", "refused"]
    detail: str = ""


def fingerprint(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def judged(prism_url: str, request: RecordedRequest) -> Respond | None:
    """Prism's answer when the vendor's spec refuses the request (with its `sl-violations`), else None."""
    headers = {name: value for name, value in request.headers.items() if name.lower() not in HOP_BY_HOP}
    answer = requests.request(request.method, prism_url + request.path, data=request.body, headers=headers,
                              timeout=30)
    if answer.ok:
        return None
    kept = {name: answer.headers[name] for name in ("Content-Type", "sl-violations") if name in answer.headers}
    return Respond(answer.status_code, answer.content, kept)


@dataclass
class VendorState:
    """What the vendors hold. `properties`: what each key's company holds now; `created`: how many companies each
    key got; `applied`: how many times each (key, properties) was written; `events`: every event stored under each
    `unique_id`; `unanswered`: the keys of writes applied whose answer a kill swallowed; `writes`: every write."""

    companies: dict[str, str] = field(default_factory=dict)  # key -> HubSpot id of its first company
    properties: dict[str, dict[str, str]] = field(default_factory=dict)
    created: Counter[str] = field(default_factory=Counter)
    applied: Counter[tuple[str, str]] = field(default_factory=Counter)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    unanswered: Counter[tuple[Vendor, str]] = field(default_factory=Counter)
    writes: list[Write] = field(default_factory=list)

    def duplicate_events(self) -> int:
        """Events stored beyond the first of their unique_id (Klaviyo keeps only the first: allowed, counted)."""
        return sum(len(stored) - 1 for stored in self.events.values())

    def writes_of(self, vendor: Vendor, path: str, fate: str = "applied") -> list[Write]:
        return [write for write in self.writes if write.vendor == vendor and write.path == path
                and write.fate == fate]


class KeptVendors(VendorState):
    """HubSpot's companies and Klaviyo's events across every run of a harness, each write judged by Prism first."""

    def __init__(self, hubspot_prism: str, klaviyo_prism: str) -> None:
        super().__init__()
        self.prism = {"hubspot": hubspot_prism.rstrip("/"), "klaviyo": klaviyo_prism.rstrip("/")}
        self.run_label = ""
        self._armed: tuple[VendorTrigger, Callable[[str], None]] | None = None
        self._lock = threading.RLock()
        self._ids = itertools.count(9001)

    def install(self, hubspot: FaultServer, klaviyo: FaultServer) -> None:
        """Answer the writes (and HubSpot's batch/read); everything else goes on to Prism, the servers' upstream."""
        hubspot.handler("POST", BATCH_READ_PATH, self._hubspot_read)
        hubspot.handler("POST", BATCH_CREATE_PATH, partial(self._write, "hubspot", self._hubspot_create))
        hubspot.handler("POST", BATCH_UPDATE_PATH, partial(self._write, "hubspot", self._hubspot_update))
        klaviyo.handler("POST", EVENTS_PATH, partial(self._write, "klaviyo", self._klaviyo_event))

    def arm(self, trigger: VendorTrigger, kill: Callable[[str], None]) -> None:
        with self._lock:
            self._armed = (trigger, kill)

    def disarm(self) -> VendorTrigger | None:
        """Forget the trigger; returns it when it never fired."""
        with self._lock:
            armed, self._armed = self._armed, None
        return armed[0] if armed else None

    def state(self) -> VendorState:
        """A copy of what the vendors hold now, which later writes leave alone."""
        with self._lock:
            return VendorState(dict(self.companies), copy.deepcopy(self.properties), Counter(self.created),
                               Counter(self.applied), copy.deepcopy(self.events), Counter(self.unanswered),
                               list(self.writes))

    # handlers (called from the fault server's threads)

    def _write(self, vendor: Vendor, apply: Callable[[RecordedRequest], Respond], request: RecordedRequest) -> Fault:
        refusal = judged(self.prism[vendor], request)
        keys = write_keys(vendor, request)
        with self._lock:
            if refusal is not None:
                self.writes.append(Write(self.run_label, vendor, request.path, keys, "refused",
                                         str(refusal.headers or {})))
                return refusal
            armed = self._armed
            if armed and armed[0].vendor == vendor and request.path.startswith(armed[0].path):
                self._armed = None
                trigger, kill = armed
                if trigger.phase == "received":
                    kill(f"{vendor} received {request.path} ({len(keys)} records) and had not applied it")
                    self.writes.append(Write(self.run_label, vendor, request.path, keys, "lost"))
                    return Drop()
                apply(request)
                self.unanswered.update((vendor, key) for key in keys)
                kill(f"{vendor} applied {request.path} ({len(keys)} records) and had not answered")
                self.writes.append(Write(self.run_label, vendor, request.path, keys, "unanswered"))
                return Drop()
            answer = apply(request)
            self.writes.append(Write(self.run_label, vendor, request.path, keys, "applied"))
            return answer

    def _hubspot_read(self, request: RecordedRequest) -> Respond:
        if refusal := judged(self.prism["hubspot"], request):
            return refusal
        with self._lock:
            keys = [item["id"] for item in request.json["inputs"]]
            results = [company(self.companies[key], {ID: key}) for key in keys if key in self.companies]
            missing = [key for key in keys if key not in self.companies]
        errors = [standard_error("OBJECT_NOT_FOUND", "Could not get some COMPANY objects, they may be deleted or not "
                                 "exist. Check that ids are valid.", ids=missing)] if missing else []
        return batch_answer(results, errors, 200)

    def _hubspot_create(self, request: RecordedRequest) -> Respond:
        results = []
        for item in request.json["inputs"]:
            key, hubspot_id = item["properties"][ID], str(next(self._ids))
            self.created[key] += 1  # without a unique id property, HubSpot makes a second company
            self.companies.setdefault(key, hubspot_id)
            self._apply(key, item["properties"])
            results.append(company(hubspot_id, item["properties"]))
        return batch_answer(results, [], 201)

    def _hubspot_update(self, request: RecordedRequest) -> Respond:
        for item in request.json["inputs"]:
            self._apply(item["properties"][ID], item["properties"])
        return batch_answer([company(item["id"], item["properties"]) for item in request.json["inputs"]], [], 200)

    def _apply(self, key: str, properties: dict[str, str]) -> None:
        self.properties[key] = dict(properties)
        self.applied[(key, fingerprint(properties))] += 1

    def _klaviyo_event(self, request: RecordedRequest) -> Respond:
        attributes = request.json["data"]["attributes"]
        self.events.setdefault(attributes["unique_id"], []).append(attributes)
        return Respond(202)


def write_keys(vendor: Vendor, request: RecordedRequest) -> tuple[str, ...]:
    body = request.json or {}
    if vendor == "hubspot":
        return tuple(item.get("properties", {}).get(ID, "") for item in body.get("inputs", []))
    return (body.get("data", {}).get("attributes", {}).get("unique_id", ""),)


# --- one run ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kill:
    """When and why a run was killed, its last progress line, and its other processes that died with it."""

    seconds: float
    why: str
    last_line: str
    group: tuple[str, ...]


def group_members(pgid: int) -> list[tuple[int, str]]:
    """(PID, command) of the live processes in process group `pgid` (zombies left out)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            state, _, group = stat[stat.rindex(")") + 2:].split()[:3]
            if int(group) != pgid or state == "Z":
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        words = [Path(word.decode()).name if word.startswith(b"/") else word.decode() for word in argv[:2]]
        members.append((int(entry.name), " ".join(words).strip() or "(exiting)"))
    return members


class ExpansionRun:
    """One `expansion run` in a session (process group) of its own, its progress lines watched as they come."""

    def __init__(self, label: str, command: Sequence[str], env: Mapping[str, str], log: Path, lock_file: Path,
                 dbt_target: Path, trigger: RunTrigger | None = None) -> None:
        self.label = label
        self.dbt_target = dbt_target
        self.command = list(command)
        self.env = dict(env)
        self.log = log
        self.lock_file = lock_file
        self.trigger = trigger
        self.lines: list[tuple[float, str]] = []
        self.kill: Kill | None = None
        self.run_id: str | None = None
        self.seconds = 0.0
        self.cpu_seconds = 0.0  # user + system, of the run and of the processes it waited for (dbt)
        self.process: subprocess.Popen[str] | None = None
        self._started = 0.0
        self._matches = 0
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self._stdout: IO[str] | None = None
        self._gone = False

    def __repr__(self) -> str:
        return f"ExpansionRun({self.label!r}, returncode={self.returncode}, kill={self.kill})"

    @property
    def pid(self) -> int:
        assert self.process is not None, "the run has not started"
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode if self.process else None

    def done(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    @property
    def summary(self) -> str:
        """What the run printed on standard output (its summary)."""
        path = self.log.with_suffix(".out")
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def tail(self, lines: int = 12) -> str:
        return "\n".join(text for _, text in self.lines[-lines:])

    def start(self) -> ExpansionRun:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._stdout = self.log.with_suffix(".out").open("w", encoding="utf-8")
        self._started = time.monotonic()
        self.process = subprocess.Popen(self.command, cwd=paths.PROJECT_ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                        stdout=self._stdout, stderr=subprocess.PIPE, text=True, bufsize=1,
                                        start_new_session=True)
        self._reader = threading.Thread(target=self._read, name=f"run-{self.label}", daemon=True)
        self._reader.start()
        return self

    def wait(self, timeout: float = RUN_TIMEOUT_SECONDS) -> ExpansionRun:
        """Wait for the run to end (killed or not); a run still going after `timeout` is killed and reported."""
        assert self.process is not None, "the run has not started"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"run {self.label} did not end within {timeout:.0f} s; it ended:\n"
                                 f"{self.tail()}") from None
        finally:
            if self._timer is not None:
                self._timer.cancel()
        if self._reader is not None:
            self._reader.join(timeout=30)
        if self._stdout is not None:
            self._stdout.close()
        self.seconds = time.monotonic() - self._started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu_seconds = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        return self

    def kill_now(self, why: str) -> None:
        """SIGKILL the run's PID, then whatever else is in its process group; returns once the run is gone."""
        with self._lock:
            if self.process is None or self.kill is not None or self.process.poll() is not None:
                return
            self._read_run_id()
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait()
            others = tuple(command for _, command in group_members(self.pid))  # what the PID alone leaves running
            with suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)  # dbt and the log tails the run started die with it
            last = next((text for _, text in reversed(self.lines) if text.startswith("[")), "")
            self.kill = Kill(time.monotonic() - self._started, why, last, others)

    def stop(self) -> list[tuple[int, str]]:
        """Make sure nothing of the run survives (for `finally`): SIGKILL to its PID and its process group, then
        wait for the group to empty. Returns what is still alive after 10 s; once the group is empty, nothing is
        signalled again (its number may be given to another process group)."""
        if self.process is None or self._gone:
            return []
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=30)
        deadline = time.monotonic() + 10  # processes SIGKILLed a moment ago may still be on their way out
        while (survivors := group_members(self.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        self._gone = not survivors and self.process.returncode is not None
        return survivors

    def _read_run_id(self) -> None:
        if self.run_id is None:
            with suppress(OSError, ValueError):
                self.run_id = json.loads(self.lock_file.read_text(encoding="utf-8") or "{}").get("run_id")

    def _read(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        with self.log.open("w", encoding="utf-8") as log:
            for line in self.process.stderr:
                text = line.rstrip("\n")
                self.lines.append((time.monotonic() - self._started, text))
                log.write(line)
                log.flush()
                if text.startswith("[") and self.run_id is None:
                    self._read_run_id()  # the refresh lock names the run while it is held
                self._watch(text)

    def _watch(self, text: str) -> None:
        trigger = self.trigger
        if isinstance(trigger, DbtTrigger | OpenFileTrigger):
            after = "] start dbt_build" if isinstance(trigger, DbtTrigger) else trigger.after
            if self._watcher is None and after in text:
                target = self._watch_dbt if isinstance(trigger, DbtTrigger) else self._watch_files
                self._watcher = threading.Thread(target=target, args=(trigger,), daemon=True,
                                                 name=f"run-{self.label}-watcher")
                self._watcher.start()
            return
        if trigger is None or self._matches >= trigger.count or trigger.text not in text:
            return
        self._matches += 1
        if self._matches < trigger.count:
            return
        why = f"{trigger.delay:.2f} s after {text.strip()!r}"
        if trigger.delay <= 0:
            self.kill_now(why)
        else:
            self._timer = threading.Timer(trigger.delay, self.kill_now, args=(why,))
            self._timer.daemon = True
            self._timer.start()

    def _watch_files(self, trigger: OpenFileTrigger) -> None:
        """Poll the run's open files; kill at the `trigger.opening`-th time one matching `trigger.path` appears."""
        assert self.process is not None
        folder, openings, was_open = Path(f"/proc/{self.pid}/fd"), 0, False
        while self.process.poll() is None:
            found = None
            with suppress(OSError):
                for entry in os.scandir(folder):
                    with suppress(OSError):
                        if trigger.path in (target := os.readlink(entry.path)):
                            found = target
                            break
            if found and not was_open:
                openings += 1
                if openings >= trigger.opening:
                    last = self.lines[-1][1] if self.lines else "none"
                    self.kill_now(f"as it opened {found} (opening {openings}; its last line: {last})")
                    return
            was_open = found is not None

    def _watch_dbt(self, trigger: DbtTrigger) -> None:
        """Follow dbt's log as it grows; kill once it reports the `trigger.models`-th model built."""
        assert self.process is not None
        self._read_run_id()
        log = self.dbt_target / f"{DBT_OP}-{(self.run_id or '')[:8]}" / "dbt.log"
        built, offset, partial = 0, 0, b""
        while self.process.poll() is None:
            if log.exists():
                with log.open("rb") as file:
                    file.seek(offset)
                    chunk = file.read()
                offset += len(chunk)
                *lines, partial = (partial + chunk).split(b"\n")
                for line in lines:
                    if b'"LogModelResult"' not in line:
                        continue
                    built += 1
                    if built >= trigger.models:
                        model = json.loads(line)["data"]["node_info"]["node_name"]
                        self.kill_now(f"dbt build had built {built} models, the last {model}")
                        return
            time.sleep(0.05)


# --- a warehouse, its vendors, and the runs against them ----------------------------------------------------------


class Harness:
    """One warehouse, outbox, Dagster instance and pair of vendors, kept across runs of `expansion run` on them.

    `module` is what `python -m` runs: the real command line by default, a sabotaged one for negative proofs.
    `run_vars` are the dbt vars of the next run (the as-of date among them), to move a harness forward in time.
    """

    def __init__(self, folder: Path, landing: Path, hubspot_prism: str, klaviyo_prism: str,
                 module: str = CLI_MODULE, module_args: Sequence[str] = ()) -> None:
        self.folder = folder
        self.landing = landing
        self.warehouse = folder / "expansion.duckdb"
        self.outbox = folder / "outbox"
        self.dagster_home = folder / "dagster_home"
        self.dbt_target = folder / "dbt-target"
        self.module = module
        self.module_args = list(module_args)
        self.run_vars = list(RUN_VARS)
        self.vendors = KeptVendors(hubspot_prism, klaviyo_prism)
        self.runs: list[ExpansionRun] = []
        self.published_before: list[str | None] = []  # the publication each run found, run by run
        self.requests: dict[str, dict[Vendor, list[str]]] = {}  # run -> vendor -> "POST create", ...
        self._requests_before: dict[Vendor, int] = {}
        self._hubspot_prism, self._klaviyo_prism = hubspot_prism, klaviyo_prism
        self._stack = ExitStack()
        self._servers: dict[Vendor, FaultServer] = {}

    def __enter__(self) -> Harness:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.dagster_home.mkdir(exist_ok=True)
        shutil.copy(paths.DEFAULT_DAGSTER_HOME / "dagster.yaml", self.dagster_home)  # the project's instance
        self._servers = {"hubspot": self._stack.enter_context(FaultServer(upstream=self._hubspot_prism)),
                         "klaviyo": self._stack.enter_context(FaultServer(upstream=self._klaviyo_prism))}
        self.vendors.install(self._servers["hubspot"], self._servers["klaviyo"])
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            self.stop_runs()
        finally:
            self._stack.close()

    @property
    def published(self) -> Path:
        return self.warehouse.parent / "published" / PUBLISHED_FILE

    @property
    def last(self) -> ExpansionRun:
        return self.runs[-1]

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module, *self.module_args, "run", "--raw", str(self.landing),
                "--warehouse", str(self.warehouse), "--outbox", str(self.outbox), *self.run_vars]

    def environment(self) -> dict[str, str]:
        """This process's environment without any setting of the project, plus the run's own."""
        env = {name: value for name, value in os.environ.items()
               if name not in settings.ENVIRONMENT and name not in VENDOR_ENV}
        return env | {settings.DAGSTER_HOME_ENV: str(self.dagster_home),
                      settings.DBT_TARGET_PATH_ENV: str(self.dbt_target),
                      "HUBSPOT_ACCESS_TOKEN": TOKEN, "HUBSPOT_BASE_URL": self._servers["hubspot"].base_url,
                      "KLAVIYO_API_KEY": API_KEY, "KLAVIYO_BASE_URL": self._servers["klaviyo"].base_url}

    def script(self, vendor: Vendor, method: str, path_prefix: str, *faults: Fault) -> None:
        """Queue `faults` at `vendor` for its next requests of `method` under `path_prefix`, one each, ahead of the
        vendors' own answers (tests/support/fault_server.py)."""
        self._servers[vendor].script(method, path_prefix, *faults)

    def pending_faults(self) -> int:
        """How many scripted faults no request has met yet."""
        return sum(server.pending() for server in self._servers.values())

    def start(self, label: str, trigger: Trigger | None = None) -> ExpansionRun:
        """Start a run in the background (`wait` on it); one at a time per harness."""
        assert not self.runs or self.last.returncode is not None, "the previous run is still going"
        self.published_before.append(published_run_id(self.published))
        self.vendors.run_label = label
        self._requests_before = {vendor: len(server.requests) for vendor, server in self._servers.items()}
        run = ExpansionRun(label, self.command(), self.environment(), self.folder / "logs" / f"{label}.log",
                           self.warehouse.parent / f"{self.warehouse.name}.lock", self.dbt_target,
                           None if isinstance(trigger, VendorTrigger) else trigger)
        self.runs.append(run)
        if isinstance(trigger, VendorTrigger):
            self.vendors.arm(trigger, run.kill_now)
        return run.start()

    def finish(self, run: ExpansionRun) -> ExpansionRun:
        """Wait for `run` to end (killed, or not); nothing of it is left alive when this returns."""
        try:
            run.wait()
        finally:
            self.vendors.disarm()
            survivors = run.stop()
            self.requests[run.label] = {vendor: [f"{request.method} {request.path.split('?')[0].rsplit('/', 1)[-1]}"
                                                 for request in server.requests[self._requests_before[vendor]:]]
                                        for vendor, server in self._servers.items()}
        assert not survivors, f"run {run.label} left processes behind: {survivors}"
        return run

    def run(self, label: str, trigger: Trigger | None = None) -> ExpansionRun:
        """Start a run and wait for its end (see `finish`)."""
        return self.finish(self.start(label, trigger))

    def stop_runs(self) -> None:
        """Kill whatever run is still going (for `finally`)."""
        for run in self.runs:
            run.stop()

    def snapshot(self) -> Snapshot:
        """What the last run left, kept aside to be checked later: copies of the warehouse (with its write-ahead
        log, which a kill leaves behind) and of the published marts, and the vendors' state."""
        folder = self.folder / "snapshots" / self.last.label
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "published").mkdir(parents=True)
        for source in (self.warehouse, self.warehouse.with_name(f"{self.warehouse.name}.wal")):
            if source.exists():
                shutil.copy2(source, folder / source.name)
        if self.published.exists():
            shutil.copy2(self.published, folder / "published" / self.published.name)
        return Snapshot(self.last.label, folder / self.warehouse.name, self.vendors.state(),
                        self.published_before[-1], self.last.run_id)

    def evidence(self) -> dict[str, Any]:
        """What the last run left, in figures: vendors, ledger, warehouse, publication."""
        return evidence(self)


# --- the guarantees -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """What one run left: `warehouse` (a copy, with `published/` beside it), the vendors, the publication the run
    found (`published_before`) and the run's id."""

    label: str
    warehouse: Path
    vendors: VendorState
    published_before: str | None
    run_id: str | None


@dataclass
class Findings:
    """Keys grouped by what is wrong with them, each group one sentence."""

    groups: dict[str, list[str]] = field(default_factory=dict)

    def add(self, problem: str, key: str) -> None:
        self.groups.setdefault(problem, []).append(key)

    def sentences(self) -> list[str]:
        sentences = []
        for problem, keys in self.groups.items():
            more = f" and {len(keys) - EXAMPLES} more" if len(keys) > EXAMPLES else ""
            sentences.append(f"{len(keys)} {problem}: {', '.join(sorted(keys)[:EXAMPLES])}{more}.")
        return sentences


@dataclass(frozen=True)
class LedgerEntry:
    payload_hash: str
    status: str


def table_exists(con: duckdb.DuckDBPyConnection, relation: str, catalog: str | None = None) -> bool:
    schema, name = relation.split(".", 1)
    return con.execute("select count(*) from duckdb_tables() where schema_name = ? and table_name = ? "
                       "and database_name = coalesce(?, current_database())", [schema, name, catalog]).fetchone()[0] > 0


def records_of(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, Record] | None:
    """A sync model's records by key, or None when the model is not built yet."""
    return {record.key: record for record in read_records(con, relation)} if table_exists(con, relation) else None


def ledger_of(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], LedgerEntry]:
    if not table_exists(con, "sync.delivery_ledger"):
        return {}
    rows = con.execute("select destination, record_key, payload_hash, status from sync.delivery_ledger").fetchall()
    return {(destination, key): LedgerEntry(digest, status) for destination, key, digest, status in rows}


def expected_event(record: Record) -> dict[str, Any]:
    """The event attributes Klaviyo gets for `record`, as they arrive (through JSON)."""
    body = event_request_body(record, DEFAULT_METRIC_NAME)
    return json.loads(json.dumps(body, default=str))["data"]["attributes"]


def check(snapshot: Snapshot, reference: Path | None, complete: bool = False) -> list[str]:
    """Every guarantee broken in what a run left (killed, or `complete`: ended normally), one sentence each.

    - the vendors: no company created twice; no payload applied more often than once plus once per answer a kill
      swallowed; everything a vendor holds is a record of its sync model with that record's payload, and the
      ledger knows it was sent (pending or delivered, with its payload hash: the write-ahead); everything the
      ledger calls delivered is at the vendor; when `complete`, every record is at the vendor and delivered
      (Klaviyo events under one unique_id more than once are allowed: `KeptVendors.duplicate_events` counts them);
    - the warehouse: every table there of the schemas `compare` knows (raw, quarantine, superseded, intermediate,
      marts, sync; not the ledger) is equal to the uninterrupted run's `reference` (after a kill, dbt's
      `__dbt_backup` leftovers aside); when `complete`, all are there and nothing else;
    - `audit.load_counts`: rows read = loaded + superseded + quarantined, and those are the tables' rows;
    - the published marts: absent (only before any publication) or one publication, the one found before the run
      or this run's (`run_id`), every mart with that `_run_id` alone and equal to the reference's marts; when
      `complete`, this run's.

    Without a `reference` the tables are not compared, and the published marts are compared with the warehouse's.
    """
    warehouse, before = snapshot.warehouse, snapshot.published_before
    if not warehouse.exists():
        return [f"The warehouse {warehouse} does not exist."] if complete else []
    problems = vendor_problems(warehouse, snapshot.vendors, complete)
    problems += warehouse_problems(warehouse, reference, complete) if reference else []
    problems += load_count_problems(warehouse, complete)
    allowed = {snapshot.run_id} if complete else {before, snapshot.run_id}
    problems += publication_problems(warehouse.parent / "published" / PUBLISHED_FILE, reference or warehouse,
                                     allowed, before, complete)
    return problems


def vendor_problems(warehouse: Path, vendors: VendorState, complete: bool) -> list[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        companies, events, ledger = records_of(con, HUBSPOT_MODEL), records_of(con, KLAVIYO_MODEL), ledger_of(con)
    finally:
        con.close()
    findings = Findings()
    for key, times in vendors.created.items():
        if times > 1:
            findings.add("HubSpot companies created more than once (one per expansion_customer_id)", key)
    for (key, _), times in vendors.applied.items():
        if times > 1 + vendors.unanswered[("hubspot", key)]:
            findings.add("HubSpot payloads applied more often than once plus once per answer lost to a kill", key)
    held: dict[str, dict[str, Any]] = {HUBSPOT: dict(vendors.properties), KLAVIYO: dict(vendors.events)}
    models = {HUBSPOT: companies or {}, KLAVIYO: events or {}}
    for destination, at_vendor in held.items():
        for key, value in at_vendor.items():
            record = models[destination].get(key)
            if record is None:
                findings.add(f"records at {destination} that {destination}'s sync model does not hold", key)
                continue
            if destination == HUBSPOT and value != company_properties(record, ID):
                findings.add("HubSpot companies holding another payload than their sync record's", key)
            if destination == KLAVIYO and any(event != expected_event(record) for event in value):
                findings.add("Klaviyo events holding another payload than their sync record's", key)
            entry = ledger.get((destination, key))
            if entry is None or entry.status not in ("pending", "delivered") \
                    or entry.payload_hash != payload_hash(record.payload):
                findings.add(f"records at {destination} that the ledger does not know were sent (neither pending "
                             "nor delivered with their payload hash: no write-ahead)", key)
    for (destination, key), entry in ledger.items():
        if entry.status == "delivered" and destination in held and key not in held[destination]:
            findings.add(f"records the ledger calls delivered that {destination} does not hold (lost)", key)
    problems = findings.sentences()
    if complete:
        for destination, model in ((HUBSPOT, companies), (KLAVIYO, events)):
            if not model:
                problems.append(f"{destination}'s sync model is missing or empty: the run delivered nothing to check.")
                continue
            missing = Findings()
            for key, record in model.items():
                if key not in held[destination]:
                    missing.add(f"records of {destination}'s sync model that never reached it (lost)", key)
                entry = ledger.get((destination, key))
                if entry is None or entry.status != "delivered" or entry.payload_hash != payload_hash(record.payload):
                    missing.add(f"records of {destination}'s sync model the ledger does not call delivered", key)
            problems += missing.sentences()
    return problems


def is_dbt_leftover(table: str) -> bool:
    """dbt's own relations around a model's swap: `__dbt_tmp` (being built), `__dbt_backup` (the old table, dropped
    after the commit). A kill between the commit and the drop leaves the backup; the model's next build drops it."""
    return table.endswith(DBT_LEFTOVERS)


def warehouse_problems(warehouse: Path, reference: Path, complete: bool) -> list[str]:
    """Every table of raw, quarantine, superseded, intermediate, marts and sync (but the ledger and its log) equal
    to the reference's; a killed run may leave some not built yet, and dbt's leftovers (never once a run has ended
    well: then they are problems like any other table too many)."""
    problems = []
    for difference in compare.compare_warehouses(warehouse, reference):
        if difference.equal or (not complete and difference.note == "missing in the left file"):
            continue
        if not complete and difference.note == "missing in the right file" and is_dbt_leftover(difference.table):
            continue
        problems.append(f"Against the uninterrupted run, {difference.sentence()}.")
    return problems


def load_count_problems(warehouse: Path, complete: bool) -> list[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        if not table_exists(con, "audit.load_counts"):
            return ["audit.load_counts is missing."] if complete else []
        problems = []
        counts = con.execute("select table_name, rows_read, rows_loaded, rows_superseded, rows_quarantined "
                             "from audit.load_counts order by 1").fetchall()
        for table, read, loaded, superseded, quarantined in counts:
            if read != loaded + superseded + quarantined:
                problems.append(f"audit.load_counts for {table}: {read} rows read, but {loaded} loaded + "
                                f"{superseded} superseded + {quarantined} quarantined.")
            for schema, claimed in (("raw", loaded), ("superseded", superseded), ("quarantine", quarantined)):
                relation = f"{schema}.{table}"
                held = con.execute(f"select count(*) from {relation}").fetchone()[0] \
                    if table_exists(con, relation) else 0
                if held != claimed:
                    problems.append(f"audit.load_counts says {claimed} rows for {relation}, which holds {held}.")
        return problems
    finally:
        con.close()


def published_run_id(published: Path) -> str | None:
    if not published.exists():
        return None
    con = duckdb.connect(str(published), read_only=True)
    try:
        return con.execute(f"select _run_id from {PUBLICATION_TABLE}").fetchone()[0]
    finally:
        con.close()


def publication_problems(published: Path, reference: Path, allowed: set[str | None], before: str | None,
                         complete: bool) -> list[str]:
    if not published.exists():
        if complete or before is not None:
            return [f"No published marts at {published} (before this run: {before or 'none'})."]
        return []
    con = duckdb.connect()
    try:
        con.execute(f"attach '{published}' as pub (read_only)")
        con.execute(f"attach '{reference}' as ref (read_only)")
        publication = con.execute(f"select _run_id from pub.main.{PUBLICATION_TABLE}").fetchall()
        if len(publication) != 1:
            return [f"{published} holds {len(publication)} publication rows, not one."]
        run_id = publication[0][0]
        problems = []
        if run_id not in allowed:
            problems.append(f"The published marts are from run {run_id}, neither the publication found before the "
                            f"run ({before}) nor the run's own ({', '.join(sorted(map(str, allowed - {before})))}).")
        names = {row[0] for row in con.execute("select table_name from duckdb_tables() where database_name = 'pub' "
                                               f"and table_name <> '{PUBLICATION_TABLE}'").fetchall()}
        marts = {row[0] for row in con.execute("select table_name from duckdb_tables() where database_name = 'ref' "
                                               "and schema_name = 'marts'").fetchall()}
        if names != marts:
            problems.append(f"The published tables are {sorted(names)}, the marts {sorted(marts)}.")
        for name in sorted(names & marts):
            runs = [row[0] for row in con.execute(f'select distinct _run_id from pub.main."{name}"').fetchall()]
            if runs not in ([run_id], []):
                problems.append(f"The published {name} carries runs {runs}, the publication {run_id}: a mix.")
            problems += published_equals_reference(con, name)
        return problems
    finally:
        con.close()


def published_equals_reference(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    columns = [row[0] for row in con.execute(
        "select column_name from duckdb_columns() where database_name = 'ref' and schema_name = 'marts' "
        "and table_name = ? order by column_index", [name]).fetchall() if row[0] not in compare.VOLATILE_COLUMNS]
    select = ", ".join(f'"{column}"' for column in columns)
    published, reference = f'pub.main."{name}"', f'ref.marts."{name}"'
    differ = con.execute(f"select (select count(*) from (select {select} from {published} except all "
                         f"select {select} from {reference})) + (select count(*) from (select {select} from "
                         f"{reference} except all select {select} from {published}))").fetchone()[0]
    return [f"The published {name} differs from the uninterrupted run's mart in {differ} rows."] if differ else []


# --- figures for the report ---------------------------------------------------------------------------------------


def evidence(harness: Harness) -> dict[str, Any]:
    vendors, run = harness.vendors.state(), harness.last
    figures: dict[str, Any] = {
        "run": run.label, "exit": run.returncode, "seconds": round(run.seconds, 1),
        "killed": run.kill.why if run.kill else None,
        "last line": run.kill.last_line if run.kill else run.tail(1),
        "died with it": list(run.kill.group) if run.kill else [],
        "requests": harness.requests.get(run.label, {}),
        "writes": [(write.path.rsplit("/", 2)[-1] if write.vendor == "hubspot" else "event", len(write.keys),
                    write.fate) for write in vendors.writes if write.run == run.label],
        "companies": len(vendors.properties), "creates": sum(vendors.created.values()),
        "events": len(vendors.events), "duplicate events": vendors.duplicate_events(),
    }
    if harness.warehouse.exists():
        con = duckdb.connect(str(harness.warehouse), read_only=True)
        try:
            figures["raw tables"] = con.execute("select count(*) from duckdb_tables() where schema_name = 'raw'"
                                                ).fetchone()[0]
            figures["marts"] = con.execute("select count(*) from duckdb_tables() where schema_name = 'marts'"
                                           ).fetchone()[0]
            figures["ledger"] = dict(Counter(f"{destination}:{entry.status}"
                                             for (destination, _), entry in ledger_of(con).items()))
            figures["dbt leftovers"] = [f"{schema}.{name}" for schema, name in con.execute(
                "select schema_name, table_name from duckdb_tables() order by all").fetchall()
                if is_dbt_leftover(name)]
        finally:
            con.close()
    published = published_run_id(harness.published)
    figures["published"] = ("none" if published is None else "this run's" if published == run.run_id else
                            "the one found before the run" if published == harness.published_before[-1] else published)
    return figures


def format_evidence(figures: Mapping[str, Any], keys: Iterable[str] | None = None) -> str:
    return "; ".join(f"{key}: {figures[key]}" for key in (keys or figures) if key in figures)
