"""HubSpot companies against the vendor's own spec (Prism) and our fault server in front of it.

Every request the destination sends reaches Prism, directly or through a handler that forwards it first, so the
vendor's schema judges each one; the fault server adds what Prism never does: 429s, 5xx, 207s and state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from orchestration.lib.names import RECORD_KEY
from orchestration.lib.sync import hubspot
from orchestration.lib.sync.destinations import DestinationError, Record
from orchestration.lib.sync.hubspot import BATCH_CREATE_PATH, BATCH_READ_PATH, BATCH_UPDATE_PATH, SEARCH_PATH
from tests.support.fault_server import Drop, Fault, FaultServer, RecordedRequest, Respond
from tests.support.hubspot_fake import FakeHubSpot, company, standard_error
from tests.support.recording import RecordingHarness, by_key, harness_fixtures, shown, sync_records

TOKEN = "pat-na1-00000000-test-token-never-shown"
ID = "expansion_customer_id"
MAX_ATTEMPTS = 3
NOW = "2026-11-22T06:00:00.000Z"


class Harness(RecordingHarness):
    """HubSpot companies, connected as the orchestration connects them, with every exchange and wait recorded."""

    spec = hubspot.SPEC
    credential = TOKEN
    max_attempts = MAX_ATTEMPTS


def company_row(key: str, **overrides: Any) -> dict[str, Any]:
    """A row of sync_hubspot__companies, with a few values that are not text yet (the destination converts)."""
    row: dict[str, Any] = {
        "record_key": key, "expansion_customer_id": key, "name": f"Company {key}", "domain": f"{key.lower()}.example",
        "expansion_current_plan": "team", "expansion_recommended_plan": None, "expansion_triggers": "seats;usage",
        "expansion_evidence": "Seats at 96% of the plan for 3 months.", "expansion_expected_mrr": 420.5,
        "expansion_priority_score": 87, "expansion_route": "customer_success",
        "expansion_flagged_at": "2026-11-22T05:00:00Z",
    }
    row.update(overrides)
    return row


def records(*keys: str, **overrides: Any) -> list[Record]:
    """The rows as delivery hands them to the destination (record_key is the key, not in the payload)."""
    return sync_records([company_row(key, **overrides) for key in keys])


def paths(server: FaultServer) -> list[str]:
    return [request.path.split("?")[0] for request in server.requests]


def assert_schema_accepted(harness: Harness, upstream_statuses: list[int] | None = None) -> None:
    """Prism accepted everything: no 422 (or any 4xx) and no violation header, from Prism or a forwarding handler."""
    assert harness.exchanges, "no request was sent"
    statuses = [exchange.status for exchange in harness.exchanges] + list(upstream_statuses or [])
    assert all(status != 422 and exchange_ok(status) for status in statuses), harness.exchanges
    assert not [exchange.violations for exchange in harness.exchanges if exchange.violations]


def exchange_ok(status: int) -> bool:
    return 200 <= status < 300 or status in (429,) or status >= 500


def assert_create_inputs_are_valid(request: RecordedRequest, keys: list[str]) -> None:
    """Each create input has `associations: []` and only string properties, with the id property = key."""
    inputs = request.json["inputs"]
    assert [item["properties"][ID] for item in inputs] == keys
    for item in inputs:
        assert item["associations"] == []
        assert all(isinstance(value, str) for value in item["properties"].values())
        assert RECORD_KEY not in item["properties"]
        assert "expansion_recommended_plan" not in item["properties"]  # None is left out


direct, proxied = harness_fixtures(Harness)  # Harness on Prism, and on a fault server in front of Prism


@pytest.fixture
def echoed(hubspot_mock: str, fault_server: Callable[..., FaultServer]) -> Iterator[tuple[Harness, FaultServer,
                                                                                          FakeHubSpot]]:
    """Like `proxied`, but creates and updates are answered as HubSpot does, one result per input, once Prism
    has accepted them (Prism's example answer holds one result whatever the batch, which confirms only one record).
    """
    server = fault_server(upstream=hubspot_mock)
    fake = FakeHubSpot(hubspot_mock)
    fake.install_writes(server)
    yield Harness(server.base_url), server, fake


# --- the vendor's schema ------------------------------------------------------------------------------------------


def test_check_passes_against_the_spec(direct: Harness) -> None:
    direct.destination().check()
    assert [(e.method, e.path, e.status) for e in direct.exchanges] == [("POST", SEARCH_PATH, 200)]


def test_write_is_accepted_by_the_spec(echoed: tuple[Harness, FaultServer, FakeHubSpot]) -> None:
    harness, server, fake = echoed
    batch = records("C1", "C2", "C3")
    outcomes = harness.destination().write(batch)
    assert_schema_accepted(harness, fake.upstream_statuses)
    assert fake.upstream_statuses == [201]
    # Prism's example read answer holds no company with our ids, so all three are created.
    assert paths(server) == [BATCH_READ_PATH, BATCH_CREATE_PATH]
    read = server.requests[0].json
    assert read == {"idProperty": ID, "inputs": [{"id": "C1"}, {"id": "C2"}, {"id": "C3"}], "properties": [ID],
                    "propertiesWithHistory": []}
    create = server.requests[1]
    assert_create_inputs_are_valid(create, ["C1", "C2", "C3"])
    assert create.json["inputs"][0]["properties"]["expansion_expected_mrr"] == "420.5"
    assert create.header("Authorization") == f"Bearer {TOKEN}"
    assert [(o.key, o.status) for o in outcomes] == [("C1", "delivered"), ("C2", "delivered"), ("C3", "delivered")]
    assert [o.external_id for o in outcomes] == [fake.companies[key] for key in ("C1", "C2", "C3")]


def test_an_answer_confirming_fewer_companies_than_sent_leaves_the_rest_retryable(
        proxied: tuple[Harness, FaultServer]) -> None:
    """Prism's own 201 to a create of three holds one result, naming none of them: none counts as delivered."""
    harness, server = proxied
    outcomes = harness.destination().write(records("C1", "C2", "C3"))
    assert_schema_accepted(harness)
    assert paths(server) == [BATCH_READ_PATH, BATCH_CREATE_PATH]
    assert [o.status for o in outcomes] == ["retryable"] * 3
    assert {o.detail for o in outcomes} == {
        "HubSpot did not confirm this company (its answer holds 1 results for 3 inputs)."}


def test_numbers_would_be_refused_by_the_spec(hubspot_mock: str) -> None:
    """The mock really validates: the number we convert away is what HubSpot's schema refuses (guards the above)."""
    body = {"inputs": [{"properties": {ID: "C1", "expansion_priority_score": 87}, "associations": []}]}
    answer = requests.post(hubspot_mock + BATCH_CREATE_PATH, json=body, timeout=10,
                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 422


# --- faults -------------------------------------------------------------------------------------------------------


def test_a_429_is_waited_out_then_the_batch_is_delivered(echoed: tuple[Harness, FaultServer, FakeHubSpot],
                                                         caplog: pytest.LogCaptureFixture) -> None:
    harness, server, fake = echoed
    limited = standard_error("RATE_LIMITS", "You have reached your ten_secondly_rolling limit.")
    server.script("POST", BATCH_CREATE_PATH, Respond(429, limited, {"Retry-After": "2"}))
    with caplog.at_level(logging.DEBUG):
        outcomes = harness.destination().write(records("C1", "C2"))
    assert [o.status for o in outcomes] == ["delivered", "delivered"]
    assert paths(server) == [BATCH_READ_PATH, BATCH_CREATE_PATH, BATCH_CREATE_PATH]
    assert harness.sleeps == [2.0]
    assert [e.status for e in harness.exchanges] == [200, 429, 201]
    assert fake.upstream_statuses == [201]  # the refused attempt never reached HubSpot
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(("failing_path", "attempts"), [(BATCH_READ_PATH, MAX_ATTEMPTS), (BATCH_CREATE_PATH, 1)])
def test_5xx_makes_every_record_retryable_once_the_attempts_allowed_run_out(
        proxied: tuple[Harness, FaultServer], failing_path: str, attempts: int) -> None:
    """A read is retried MAX_ATTEMPTS times; a create, which a retry could make twice, is sent once."""
    harness, server = proxied
    server.script("POST", failing_path, *[Respond(503, {"message": "Service unavailable"})] * attempts)
    outcomes = harness.destination().write(records("C1", "C2", "C3"))
    assert [o.status for o in outcomes] == ["retryable"] * 3
    assert all("503" in (o.detail or "") for o in outcomes)
    assert paths(server).count(failing_path) == attempts
    assert server.pending() == 0
    if failing_path == BATCH_READ_PATH:
        assert BATCH_CREATE_PATH not in paths(server)  # never create what we could not look up


def test_a_207_rejects_exactly_the_record_hubspot_names(hubspot_mock: str,
                                                        fault_server: Callable[..., FaultServer]) -> None:
    server = fault_server()
    message = ('Property values were not valid: [{"isValid":false,"message":"partner was not one of the allowed '
               'options","error":"INVALID_OPTION","name":"expansion_route"}]')
    fake = FakeHubSpot(hubspot_mock, invalid={"C2": message})
    fake.install(server)
    harness = Harness(server.base_url)
    batch = [*records("C1"), *records("C2", expansion_route="partner"), *records("C3")]
    outcomes = by_key(harness.destination().write(batch))
    assert fake.upstream_statuses == [200, 201]  # Prism accepted the read and the create
    assert [e.status for e in harness.exchanges] == [207, 207]
    assert (outcomes["C2"].status, outcomes["C2"].detail) == ("rejected", f"VALIDATION_ERROR: {message}")
    assert {key: (o.status, o.external_id) for key, o in outcomes.items() if key != "C2"} == {
        "C1": ("delivered", fake.companies["C1"]), "C3": ("delivered", fake.companies["C3"]),
    }
    assert sorted(fake.companies) == ["C1", "C3"]


@pytest.mark.parametrize("existing", [False, True], ids=["create", "update"])
def test_a_batch_refused_for_one_bad_record_is_halved_until_only_that_record_is_rejected(
        hubspot_mock: str, fault_server: Callable[..., FaultServer], existing: bool) -> None:
    keys = [f"C{n:02d}" for n in range(1, 11)]
    bad = keys[6]  # the seventh
    message = ('Property values were not valid: [{"isValid":false,"message":"partner was not one of the allowed '
               'options","error":"INVALID_OPTION","name":"expansion_route"}]')
    companies = {key: str(700 + n) for n, key in enumerate(keys)} if existing else {}
    server = fault_server()
    fake = FakeHubSpot(hubspot_mock, companies=companies, refused={bad: message})
    fake.install(server)
    harness = Harness(server.base_url)
    outcomes = by_key(harness.destination().write(records(*keys)))
    assert set(fake.upstream_statuses) <= {200, 201}  # Prism accepted every request, the refused ones too
    assert (outcomes[bad].status, outcomes[bad].detail) == ("rejected", f"VALIDATION_ERROR: {message}")
    assert {key: outcome.status for key, outcome in outcomes.items() if key != bad} == {
        key: "delivered" for key in keys if key != bad}
    write_path = BATCH_UPDATE_PATH if existing else BATCH_CREATE_PATH
    assert paths(server) == [BATCH_READ_PATH] + [write_path] * 7
    # 10 refused -> C01-C05 delivered, C06-C10 refused -> C06-C07 refused -> C06 delivered, C07 refused;
    # C08-C10 delivered: seven requests, where sending the ten one by one after the first refusal takes eleven
    sizes = [len(request.json["inputs"]) for request in server.requests[1:]]
    assert sizes == [10, 5, 5, 2, 1, 1, 3]
    if not existing:
        assert sorted(fake.companies) == [key for key in keys if key != bad]


@pytest.mark.parametrize("lost", [Respond(502, "Bad gateway"), Drop()], ids=["502", "dropped"])
def test_a_create_whose_answer_is_lost_is_not_resent_and_the_next_write_updates(
        hubspot_mock: str, fault_server: Callable[..., FaultServer], lost: Fault) -> None:
    server = fault_server()
    fake = FakeHubSpot(hubspot_mock)
    creates: list[Respond] = []

    def commit_then_lose_the_first_answer(request: RecordedRequest) -> Fault:
        creates.append(fake.create(request))  # HubSpot makes the companies...
        return lost if len(creates) == 1 else creates[-1]  # ...but the first answer never arrives

    server.handler("POST", BATCH_CREATE_PATH, commit_then_lose_the_first_answer)  # before the fake's own: it wins
    fake.install(server)
    harness = Harness(server.base_url)
    batch = records("C1", "C2")

    first = harness.destination().write(batch)
    assert paths(server) == [BATCH_READ_PATH, BATCH_CREATE_PATH]  # sent exactly once
    assert [o.status for o in first] == ["retryable", "retryable"]
    assert all("it is not sent again" in (o.detail or "") for o in first)
    assert harness.sleeps == []
    made = dict(fake.companies)
    assert sorted(made) == ["C1", "C2"]  # the lost create went through

    second = harness.destination().write(batch)  # the next run: the same records, still due
    assert paths(server) == [BATCH_READ_PATH, BATCH_CREATE_PATH, BATCH_READ_PATH, BATCH_UPDATE_PATH]
    assert fake.companies == made  # found and updated, not made twice
    assert [(o.status, o.external_id) for o in second] == [("delivered", made["C1"]), ("delivered", made["C2"])]
    assert set(fake.upstream_statuses) <= {200, 201}


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_stops_the_sync_without_showing_it(proxied: tuple[Harness, FaultServer], status: int,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    harness, server = proxied
    refused = {"status": "error", "message": "Authentication credentials not found.",
               "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf", "category": "INVALID_AUTHENTICATION"}
    server.script("POST", BATCH_READ_PATH, Respond(status, refused))
    server.script("POST", SEARCH_PATH, Respond(status, refused))
    for error in harness.write_then_check(records("C1"), caplog):
        assert str(error).startswith(f"HubSpot rejected HUBSPOT_ACCESS_TOKEN ({status})")
        assert TOKEN not in shown(error)
    assert TOKEN not in caplog.text
    assert paths(server) == [BATCH_READ_PATH, SEARCH_PATH]  # one attempt each: no retry of a refused token


def test_a_check_against_a_failing_hubspot_names_the_base_url_setting(proxied: tuple[Harness, FaultServer]) -> None:
    harness, server = proxied
    server.script("POST", SEARCH_PATH, *[Respond(502, "Bad gateway")] * MAX_ATTEMPTS)
    with pytest.raises(DestinationError, match=r"HubSpot's companies check at .* failed .*check HUBSPOT_BASE_URL"):
        harness.destination().check()
    assert paths(server) == [SEARCH_PATH] * MAX_ATTEMPTS


def test_records_sharing_a_key_are_sent_once_and_share_its_outcome(
        echoed: tuple[Harness, FaultServer, FakeHubSpot]) -> None:
    harness, server, _ = echoed
    older, newer = records("C1", name="Old name")[0], records("C1", name="New name")[0]
    outcomes = harness.destination().write([older, newer, *records("C2")])
    assert [(o.key, o.status) for o in outcomes] == [("C1", "delivered"), ("C1", "delivered"), ("C2", "delivered")]
    create = server.requests[1].json
    assert [item["properties"]["name"] for item in create["inputs"]] == ["New name", "Company C2"]


def test_prism_refuses_a_request_without_the_bearer_token(hubspot_mock: str) -> None:
    answer = requests.post(hubspot_mock + SEARCH_PATH, timeout=10,
                           json={"filterGroups": [], "sorts": [], "properties": [], "limit": 1, "after": "0"})
    assert answer.status_code == 401


# --- idempotence --------------------------------------------------------------------------------------------------


def test_a_company_found_by_batch_read_is_updated_not_created(hubspot_mock: str,
                                                             fault_server: Callable[..., FaultServer]) -> None:
    server = fault_server(upstream=hubspot_mock)  # create and update go on to Prism
    found = {"status": "COMPLETE", "startedAt": NOW, "completedAt": NOW, "numErrors": 1,
             "results": [company("777", {ID: "C1"})],
             "errors": [standard_error("OBJECT_NOT_FOUND", "Could not get some COMPANY objects.", ids=["C2"])]}
    server.handler("POST", BATCH_READ_PATH, lambda request: Respond(207, found))
    harness = Harness(server.base_url)
    outcomes = by_key(harness.destination().write(records("C1", "C2")))
    assert_schema_accepted(harness)
    assert paths(server) == [BATCH_READ_PATH, BATCH_UPDATE_PATH, BATCH_CREATE_PATH]
    update, create = server.requests[1].json, server.requests[2]
    assert [(item["id"], item["properties"][ID]) for item in update["inputs"]] == [("777", "C1")]
    assert all(isinstance(value, str) for value in update["inputs"][0]["properties"].values())
    assert_create_inputs_are_valid(create, ["C2"])
    assert (outcomes["C1"].status, outcomes["C1"].external_id) == ("delivered", "777")
    assert outcomes["C2"].status == "delivered"


def test_a_replay_after_a_crash_updates_instead_of_duplicating(hubspot_mock: str,
                                                               fault_server: Callable[..., FaultServer]) -> None:
    server = fault_server()
    fake = FakeHubSpot(hubspot_mock)
    fake.install(server)
    harness = Harness(server.base_url)
    batch = records("C1", "C2", "C3")
    first = harness.destination().write(batch)
    created = dict(fake.companies)
    replay = harness.destination().write(batch)  # the ledger never heard back: the same batch again
    assert fake.companies == created and len(created) == 3
    assert paths(server) == [BATCH_READ_PATH, BATCH_CREATE_PATH, BATCH_READ_PATH, BATCH_UPDATE_PATH]
    assert [o.external_id for o in first] == [o.external_id for o in replay] == [created[k] for k in ("C1", "C2", "C3")]
    assert {o.status for o in first + replay} == {"delivered"}
    assert set(fake.upstream_statuses) == {200, 201}
