"""The sync layer whole, without Dagster or dbt: each registered destination, connected through its spec, gets every
record of a sync model once through the ledger, past rate limits, server errors and a dropped connection."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import duckdb

from orchestration.lib.sync import hubspot, klaviyo, ledger
from orchestration.lib.sync.delivery import deliver
from orchestration.lib.sync.hubspot import BATCH_CREATE_PATH, BATCH_READ_PATH
from orchestration.lib.sync.klaviyo import EVENTS_PATH
from tests.support.fault_server import Drop, FaultServer, RecordedRequest, Respond
from tests.support.hubspot_fake import FakeHubSpot
from tests.support.recording import sync_records

CREDENTIAL = "credential-that-must-never-be-printed"
COMPANIES, EVENTS = 130, 70  # more than one batch each (100 and 50)


def company_rows() -> list[dict[str, object]]:
    return [{"record_key": f"C{n:03d}", "expansion_customer_id": f"C{n:03d}", "name": f"Company {n}",
             "expansion_expected_mrr": Decimal("12.50"), "expansion_flagged_at": datetime(2026, 11, 22, 5)}
            for n in range(COMPANIES)]


def event_rows() -> list[dict[str, object]]:
    products = json.dumps([{"product_id": "P2", "product_name": "Stand", "rank": 1}])
    return [{"record_key": f"xsell:K{n}:O{n}", "unique_id": f"xsell:K{n}:O{n}", "email": f"k{n}@example.com",
             "metric_name": klaviyo.DEFAULT_METRIC_NAME, "recommended_products": products,
             "send_after": datetime(2026, 11, 23, 8)} for n in range(EVENTS)]


def writes(server: FaultServer, path: str) -> list[RecordedRequest]:
    return [request for request in server.requests if request.method == "POST" and request.path.startswith(path)]


def test_every_record_reaches_its_vendor_once_despite_faults(hubspot_mock: str, klaviyo_mock: str,
                                                             fault_server: Callable[..., FaultServer]) -> None:
    con = duckdb.connect()
    to_hubspot, to_klaviyo = fault_server(upstream=hubspot_mock), fault_server(upstream=klaviyo_mock)
    FakeHubSpot(hubspot_mock).install(to_hubspot)  # HubSpot keeps its companies; Klaviyo is Prism itself
    to_hubspot.script("POST", BATCH_READ_PATH, Respond(502))
    to_hubspot.script("POST", BATCH_CREATE_PATH, Respond(429, {"message": "rate limited"}, {"Retry-After": "0"}))
    to_klaviyo.script("POST", EVENTS_PATH, Respond(503), Respond(429, {"errors": []}, {"Retry-After": "0"}), Drop())
    syncs = [(hubspot.SPEC, to_hubspot, sync_records(company_rows())),
             (klaviyo.SPEC, to_klaviyo, sync_records(event_rows()))]
    waits: list[float] = []

    def run(run_id: str) -> list[str]:
        sentences = []
        for spec, server, records in syncs:
            destination = spec.connect(CREDENTIAL, server.base_url, sleep=waits.append, backoff_seconds=0.01)
            destination.check()
            summary = deliver(con, destination, records, run_id, resend_changed=spec.resend_changed)
            sentences.append(summary.sentence())
        return sentences

    first = run("run-1")

    assert first[0].startswith(f"hubspot.companies: {COMPANIES} records, {COMPANIES} delivered, 0 unchanged")
    assert first[1].startswith(f"klaviyo.events: {EVENTS} records, {EVENTS} delivered, 0 unchanged")
    assert dict(con.execute(f"select destination, count(*) from {ledger.LEDGER} where status = 'delivered' "
                            "group by 1").fetchall()) == {"hubspot.companies": COMPANIES, "klaviyo.events": EVENTS}
    assert len(writes(to_klaviyo, EVENTS_PATH)) == EVENTS + 3  # one per event, plus the 503, 429 and drop resent
    assert {request.json["data"]["attributes"]["unique_id"] for request in writes(to_klaviyo, EVENTS_PATH)} == {
        record.key for record in syncs[1][2]}
    assert len(writes(to_hubspot, BATCH_CREATE_PATH)) == 2 + 1  # two batches, the first refused once with 429
    assert all(request.header("Authorization") == f"Bearer {CREDENTIAL}" for request in to_hubspot.requests)
    assert to_hubspot.pending() == to_klaviyo.pending() == 0
    assert len(waits) == 5 and waits.count(0.0) == 2  # Retry-After: 0 twice, backoffs for the 502, 503 and drop

    before = (len(writes(to_hubspot, "/crm/v3/objects/companies/batch/")), len(writes(to_klaviyo, EVENTS_PATH)))
    again = run("run-2")

    assert (len(writes(to_hubspot, "/crm/v3/objects/companies/batch/")), len(writes(to_klaviyo, EVENTS_PATH))) == before
    assert again[0].startswith(f"hubspot.companies: {COMPANIES} records, 0 delivered, {COMPANIES} unchanged")
    assert again[1].startswith(f"klaviyo.events: {EVENTS} records, 0 delivered, {EVENTS} unchanged")
    assert all(CREDENTIAL not in sentence for sentence in first + again)
