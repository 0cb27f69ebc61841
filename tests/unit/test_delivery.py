"""The ledger and the delivery loop: nothing sent twice, nothing lost, failures retried."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pytest

from orchestration.lib.names import RECORD_KEY
from orchestration.lib.sync import ledger
from orchestration.lib.sync.delivery import deliver, read_records, records_from_rows
from orchestration.lib.sync.destinations import Record, RecordOutcome
from orchestration.lib.sync.hubspot import company_properties
from orchestration.lib.sync.klaviyo import event_request_body
from orchestration.lib.sync.outbox import OutboxDestination
from orchestration.lib.sync.values import json_value

RUN = "run-1"


class ScriptedDestination:
    """Delivers everything unless told otherwise; remembers every batch it got."""

    name = "fake.vendor"

    def __init__(self, batch_size: int = 2, statuses: dict[str, str] | None = None, crash_on: str | None = None,
                 forget: str | None = None) -> None:
        self.batch_size = batch_size
        self.statuses = statuses or {}
        self.crash_on = crash_on
        self.forget = forget
        self.batches: list[list[str]] = []

    def check(self) -> None:
        pass

    def write(self, batch: Sequence[Record]) -> list[RecordOutcome]:
        keys = [record.key for record in batch]
        self.batches.append(keys)
        if self.crash_on in keys:
            raise KeyboardInterrupt("the process dies mid-batch")
        return [RecordOutcome(key, self.statuses.get(key, "delivered"), external_id=f"ext-{key}",  # type: ignore[arg-type]
                              detail=None if self.statuses.get(key, "delivered") == "delivered" else "vendor says no")
                for key in keys if key != self.forget]


def records(**payloads: str) -> list[Record]:
    return [Record(key, {"value": value}) for key, value in payloads.items()]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def ledger_rows(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    rows = con.execute(f"select record_key, status, attempts, external_id from {ledger.LEDGER}").fetchall()
    return {row[0]: row[1:] for row in rows}


def test_a_second_run_sends_nothing_already_delivered(con):
    destination = ScriptedDestination()
    first = deliver(con, destination, records(a="1", b="2", c="3"), RUN)
    second = deliver(con, destination, records(a="1", b="2", c="3"), "run-2")
    assert (first.sent, first.delivered, first.unchanged) == (3, 3, 0)
    assert (second.sent, second.delivered, second.unchanged) == (0, 0, 3)
    assert destination.batches == [["a", "b"], ["c"]]
    assert ledger_rows(con) == {key: ("delivered", 1, f"ext-{key}") for key in "abc"}


def test_a_changed_payload_is_sent_again_and_only_it(con):
    destination = ScriptedDestination()
    deliver(con, destination, records(a="1", b="2"), RUN)
    summary = deliver(con, destination, records(a="1", b="changed"), "run-2")
    assert destination.batches[-1] == ["b"]
    assert (summary.sent, summary.unchanged) == (1, 1)
    assert ledger_rows(con)["b"] == ("delivered", 2, "ext-b")


def test_rejected_and_retryable_records_are_retried_next_run(con):
    failing = ScriptedDestination(statuses={"a": "rejected", "b": "retryable"})
    summary = deliver(con, failing, records(a="1", b="2", c="3"), RUN)
    assert (summary.delivered, summary.rejected, summary.retryable, summary.complete) == (1, 1, 1, False)
    assert summary.problems == ["a: vendor says no", "b: vendor says no"]
    healed = ScriptedDestination()
    again = deliver(con, healed, records(a="1", b="2", c="3"), "run-2")
    assert sorted(key for batch in healed.batches for key in batch) == ["a", "b"]
    assert (again.delivered, again.unchanged, again.complete) == (2, 1, True)
    log = con.execute(f"select record_key, status from {ledger.LOG} order by attempted_at, record_key").fetchall()
    assert sorted(log) == sorted([("a", "rejected"), ("b", "retryable"), ("c", "delivered"),
                                  ("a", "delivered"), ("b", "delivered")])


def test_a_crash_mid_batch_leaves_the_batch_pending_and_the_next_run_sends_it(con):
    crashing = ScriptedDestination(crash_on="c")
    with pytest.raises(KeyboardInterrupt):
        deliver(con, crashing, records(a="1", b="2", c="3", d="4"), RUN)
    assert ledger_rows(con) == {"a": ("delivered", 1, "ext-a"), "b": ("delivered", 1, "ext-b"),
                                "c": ("pending", 0, None), "d": ("pending", 0, None)}
    resumed = ScriptedDestination()
    summary = deliver(con, resumed, records(a="1", b="2", c="3", d="4"), "run-2")
    assert resumed.batches == [["c", "d"]]
    assert (summary.delivered, summary.unchanged) == (2, 2)


def test_a_record_the_destination_forgot_stays_retryable(con):
    summary = deliver(con, ScriptedDestination(forget="b"), records(a="1", b="2"), RUN)
    assert (summary.delivered, summary.retryable) == (1, 1)
    assert ledger_rows(con)["b"] == ("retryable", 1, None)


def test_records_from_rows_makes_payloads_json_ready_and_refuses_repeated_keys():
    rows = [("k1", datetime(2026, 11, 22, 8, 30), Decimal("12.50"), float("nan"), "x")]
    [record] = records_from_rows(["record_key", "send_after", "amount", "score", "name"], rows)
    assert record.key == "k1"
    assert record.payload == {"send_after": "2026-11-22T08:30:00Z", "amount": "12.50", "score": None, "name": "x"}
    with pytest.raises(ValueError, match="record_key 'k1' appears 2 times"):
        records_from_rows(["record_key"], [("k1",), ("k1",)])
    with pytest.raises(ValueError, match="needs a record_key column"):
        records_from_rows(["id"], [("k1",)])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 11, 22, 8, 30, 15, 999), "2026-11-22T08:30:15Z"),
        (datetime(2026, 11, 22, 10, 30, tzinfo=timezone(timedelta(hours=2))), "2026-11-22T08:30:00Z"),
        (date(2026, 11, 22), "2026-11-22"),
        (Decimal("1E+3"), "1000"),
        (Decimal("NaN"), None),
        (float("inf"), None),
        (np.int64(7), 7),
        (np.bool_(True), True),
        ([Decimal("0.10"), None, {"at": date(2026, 1, 2)}], ["0.10", None, {"at": "2026-01-02"}]),
        ({"n": (1, 2.5)}, {"n": [1, 2.5]}),
    ],
)
def test_json_value_makes_warehouse_values_json_ready(value: object, expected: object) -> None:
    assert json_value(value) == expected
    json.dumps(json_value(value), allow_nan=False)  # strict JSON, nothing left for default=str


def test_no_payload_holds_the_key_column_so_no_destination_can_send_it(con):
    """What proves that HubSpot and Klaviyo need no record_key filter of their own: delivery never passes it on."""
    con.execute("""create table companies as select 'Acme' as name, 'C1' as record_key, 'C1' as expansion_customer_id,
                   12.50::decimal(10, 2) as expansion_expected_mrr""")
    con.execute("""create table events as select 'xsell:K1:O9' as unique_id, 'ada@example.com' as email,
                   timestamp '2026-11-23 08:00' as send_after, 'xsell:K1:O9' as record_key""")
    [company], [event] = read_records(con, "companies"), read_records(con, "events")
    assert (company.key, company.payload) == (
        "C1", {"name": "Acme", "expansion_customer_id": "C1", "expansion_expected_mrr": "12.50"})
    assert (event.key, event.payload) == (
        "xsell:K1:O9", {"unique_id": "xsell:K1:O9", "email": "ada@example.com", "send_after": "2026-11-23T08:00:00Z"})
    assert RECORD_KEY not in company_properties(company, "expansion_customer_id")
    assert event_request_body(event, "m")["data"]["attributes"]["properties"] == {
        "send_after": "2026-11-23T08:00:00Z"}


def test_payload_hash_ignores_key_order_and_sees_every_value():
    assert ledger.payload_hash({"a": 1, "b": "2"}) == ledger.payload_hash({"b": "2", "a": 1})
    assert ledger.payload_hash({"a": 1}) != ledger.payload_hash({"a": 2})


def test_the_outbox_writes_each_record_once_across_runs(con, tmp_path: Path):
    con.execute("create table rows as select * from (values ('k1', 'one'), ('k2', 'two')) as t(record_key, name)")
    first = deliver(con, OutboxDestination(tmp_path, "vendor.objects", RUN), read_records(con, "rows"), RUN)
    second = deliver(con, OutboxDestination(tmp_path, "vendor.objects", "run-2"), read_records(con, "rows"), "run-2")
    lines = [json.loads(line) for line in (tmp_path / "vendor.objects" / f"{RUN}.jsonl").read_text().splitlines()]
    assert lines == [
        {"key": "k1", "payload_sha256": ledger.payload_hash({"name": "one"}), "payload": {"name": "one"}},
        {"key": "k2", "payload_sha256": ledger.payload_hash({"name": "two"}), "payload": {"name": "two"}}]
    assert not (tmp_path / "vendor.objects" / "run-2.jsonl").exists()
    assert (first.delivered, second.delivered, second.unchanged) == (2, 0, 2)


def test_the_outbox_is_owner_only_whatever_the_umask(tmp_path: Path):
    """The outbox holds e-mail addresses: folders 0o700 and files 0o600, even under a permissive umask, and a
    destination folder left looser by an older version is tightened."""
    old_umask = os.umask(0)
    try:
        outbox = tmp_path / "new" / "outbox"
        OutboxDestination(outbox, "vendor.objects", RUN).write(records(k1="one"))
        (outbox / "other.objects").mkdir(mode=0o777)
        OutboxDestination(outbox, "other.objects", RUN).write(records(k1="one"))
    finally:
        os.umask(old_umask)
    modes = {path.relative_to(tmp_path).as_posix(): stat.S_IMODE(path.stat().st_mode)
             for path in [tmp_path / "new", *sorted((tmp_path / "new").rglob("*"))]}
    assert modes == {"new": 0o700, "new/outbox": 0o700, "new/outbox/vendor.objects": 0o700,
                     f"new/outbox/vendor.objects/{RUN}.jsonl": 0o600, "new/outbox/other.objects": 0o700,
                     f"new/outbox/other.objects/{RUN}.jsonl": 0o600}


def test_the_outbox_does_not_write_again_what_a_crashed_run_wrote(con, tmp_path: Path):
    """The batch reached the file but the ledger still says pending: the next run finds it there."""
    batch = records(k1="one", k2="two")
    OutboxDestination(tmp_path, "vendor.objects", RUN).write(batch)  # written, then the process died
    ledger.ensure_tables(con)
    ledger.mark_pending(con, "outbox:vendor.objects", [ledger.Pending(record, ledger.payload_hash(record.payload))
                                                       for record in batch], RUN, datetime(2026, 11, 22))
    summary = deliver(con, OutboxDestination(tmp_path, "vendor.objects", "run-2"), batch, "run-2")
    assert summary.delivered == 2
    assert not (tmp_path / "vendor.objects" / "run-2.jsonl").exists()
    assert len((tmp_path / "vendor.objects" / f"{RUN}.jsonl").read_text().splitlines()) == 2


def test_a_failed_record_that_left_the_model_expires_loudly(con):
    deliver(con, ScriptedDestination(statuses={"b": "retryable", "c": "rejected"}), records(a="1", b="2", c="3"),
            RUN)
    summary = deliver(con, ScriptedDestination(), records(a="1", c="3"), "run-2")  # b's send window closed
    assert summary.expired == 1
    assert "1 earlier failures expired" in summary.sentence()
    assert ledger_rows(con)["b"][0] == "expired"
    assert ledger_rows(con)["c"][0] == "delivered"  # still in the model: retried, not expired
    log = con.execute(f"select status, detail from {ledger.LOG} where record_key = 'b' order by attempted_at"
                      ).fetchall()
    assert log[-1] == ("expired", "left the sync model before it was delivered (last: retryable)")
    assert deliver(con, ScriptedDestination(), records(a="1", c="3"), "run-3").expired == 0  # counted once


def test_an_event_destination_never_gets_a_delivered_key_again(con):
    destination = ScriptedDestination()
    deliver(con, destination, records(a="1"), RUN, resend_changed=False)
    summary = deliver(con, destination, records(a="changed"), "run-2", resend_changed=False)
    assert destination.batches == [["a"]]
    assert (summary.sent, summary.unchanged) == (0, 1)


def test_a_row_without_key_is_refused():
    with pytest.raises(ValueError, match="a row has no record_key"):
        records_from_rows(["record_key", "name"], [(None, "x")])
