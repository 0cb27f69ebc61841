"""Klaviyo events against the vendor's own spec (Prism) and our fault server in front of it.

Every event the destination sends reaches Prism, directly or through a handler that forwards it first, so the
vendor's spec judges its headers (revision, API key scheme) and its body. Served as published, Prism cannot compile
the spec's schemas that carry `nullable` without `type` and then skips body validation without a word; the
`klaviyo_mock` fixture serves a copy without those keywords, and test_the_mock_judges_event_bodies proves it now
refuses a broken document. Each body is also validated here against the spec's own `EventCreateQueryV2` schema
with jsonschema, a second opinion that names the broken field.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import requests

from orchestration.lib.names import RECORD_KEY
from orchestration.lib.sync import klaviyo
from orchestration.lib.sync.destinations import DestinationError, Record
from orchestration.lib.sync.klaviyo import EVENTS_PATH, JSON_API, REVISION
from tests.support.fault_server import FaultServer, RecordedRequest, Respond
from tests.support.recording import RecordingHarness, by_key, harness_fixtures, shown, sync_records

API_KEY = "pk_0000000000test_key_never_shown"
MAX_ATTEMPTS = 3
METRIC = "Cross-sell recommendation"
SPEC = Path(__file__).resolve().parents[3] / "shared" / "contracts" / "klaviyo.oas.json"  # as the fixtures find it
PRODUCTS = [{"product_id": "P2", "product_name": "Monitor stand", "rank": 1, "score": 0.41, "reason": "bought with"}]


class Harness(RecordingHarness):
    """Klaviyo events, connected as the orchestration connects them, with every exchange and wait recorded."""

    spec = klaviyo.SPEC
    credential = API_KEY
    max_attempts = MAX_ATTEMPTS


def event_row(contact: str, **overrides: Any) -> dict[str, Any]:
    """A row of sync_klaviyo__cross_sell_events as the warehouse hands it over."""
    key = f"xsell:{contact}:O-{contact}"
    row: dict[str, Any] = {
        "record_key": key, "unique_id": key, "metric_name": METRIC, "email": f"{contact.lower()}@example.com",
        "contact_id": contact, "customer_id": "C1", "first_name": "Ada", "source_order_id": f"O-{contact}",
        "source_product_id": "P1", "source_product_name": "Standing desk", "recommended_products": json.dumps(PRODUCTS),
        "recommendation_count": 1, "send_after": datetime(2026, 11, 23, 8), "send_before": datetime(2026, 11, 24, 8),
        "is_email_consented": True, "time": datetime(2026, 11, 22, 7, 30),
    }
    row.update(overrides)
    return row


def records(*contacts: str, **overrides: Any) -> list[Record]:
    """The rows as delivery hands them to the destination (record_key is the key, not in the payload)."""
    return sync_records([event_row(contact, **overrides) for contact in contacts])


def event_attributes(request: RecordedRequest) -> dict[str, Any]:
    return request.json["data"]["attributes"]


def assert_sent_as_klaviyo_wants(request: RecordedRequest, key: str) -> None:
    """Headers and document as the spec and Klaviyo's de-duplication need them."""
    assert_matches_event_schema(request.json)
    assert request.header("revision") == REVISION
    assert request.header("Authorization") == f"Klaviyo-API-Key {API_KEY}"
    assert request.header("Content-Type") == JSON_API
    assert request.header("Accept") == JSON_API
    assert request.json["data"]["type"] == "event"
    attributes = event_attributes(request)
    assert attributes["unique_id"] == key
    assert attributes["metric"]["data"] == {"type": "metric", "attributes": {"name": METRIC}}
    assert attributes["profile"]["data"]["type"] == "profile"
    assert attributes["properties"]["recommended_products"] == PRODUCTS  # a list, not JSON text
    assert attributes["time"] == "2026-11-22T07:30:00Z"  # the warehouse's timestamp as delivery's UTC text
    assert not {RECORD_KEY, "unique_id", "email", "is_email_consented"} & set(attributes["properties"])


def openapi_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: `nullable: true` becomes "or null"; examples are dropped."""
    if isinstance(node, list):
        return [openapi_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {}
    for name, value in node.items():
        if name in ("nullable", "example"):
            continue
        if name == "properties" and isinstance(value, dict):  # a map of property names to schemas
            converted[name] = {prop: openapi_schema(schema) for prop, schema in value.items()}
        else:
            converted[name] = openapi_schema(value)
    return {"anyOf": [converted, {"type": "null"}]} if node.get("nullable") is True else converted


@cache
def event_schema_validator() -> jsonschema.protocols.Validator:
    """A validator for `POST /api/events` bodies built from the spec's own request schema."""
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    body_schema = spec["paths"][EVENTS_PATH]["post"]["requestBody"]["content"][JSON_API]["schema"]
    root = {**openapi_schema(body_schema), "components": {"schemas": openapi_schema(spec["components"]["schemas"])}}
    return jsonschema.Draft202012Validator(root)


def assert_matches_event_schema(document: Any) -> None:
    errors = sorted(event_schema_validator().iter_errors(document), key=lambda error: list(error.path))
    assert not errors, [f"{'/'.join(map(str, error.path))}: {error.message}" for error in errors]


def klaviyo_error(status: int, code: str, title: str, detail: str, pointer: str | None = None) -> dict[str, Any]:
    """Klaviyo's JSON:API error document."""
    error: dict[str, Any] = {"id": "7f6a2f5e-0000-4000-8000-000000000000", "status": status, "code": code,
                             "title": title, "detail": detail}
    if pointer:
        error["source"] = {"pointer": pointer}
    return {"errors": [error]}


class FakeKlaviyo:
    """A stand-in for `POST /api/events` that keeps the events it accepted and de-duplicates them by unique_id.

    Each request is first checked by Prism; `invalid_emails` get Klaviyo's 400 for a bad address.
    """

    def __init__(self, prism_url: str, invalid_emails: frozenset[str] = frozenset()) -> None:
        self.prism_url = prism_url
        self.invalid_emails = invalid_emails
        self.events: dict[str, dict[str, Any]] = {}
        self.upstream_statuses: list[int] = []
        self.schema_errors: list[str] = []

    def install(self, server: FaultServer) -> None:
        server.handler("POST", EVENTS_PATH, self.create_event)

    def create_event(self, request: RecordedRequest) -> Respond:
        forwarded = {name: value for name, value in request.headers.items()
                     if name.lower() in ("authorization", "revision", "content-type", "accept")}
        answer = requests.post(self.prism_url + request.path, data=request.body, headers=forwarded, timeout=10)
        self.upstream_statuses.append(answer.status_code)
        self.schema_errors.extend(error.message for error in event_schema_validator().iter_errors(request.json))
        if not answer.ok:
            return Respond(answer.status_code, answer.content, {"Content-Type": JSON_API})
        attributes = event_attributes(request)
        email = attributes["profile"]["data"]["attributes"]["email"]
        if email in self.invalid_emails:
            body = klaviyo_error(400, "invalid", "Invalid input.", f"Invalid email address: {email}",
                                 "/data/attributes/profile/data/attributes/email")
            return Respond(400, body, {"Content-Type": JSON_API})
        self.events.setdefault(attributes["unique_id"], attributes)  # the first processed event wins
        return Respond(202)


direct, proxied = harness_fixtures(Harness)  # Harness on Prism, and on a fault server in front of Prism


# --- the vendor's schema ------------------------------------------------------------------------------------------


def test_check_passes_against_the_spec(proxied: tuple[Harness, FaultServer]) -> None:
    harness, server = proxied
    harness.destination().check()
    assert [(e.method, e.path, e.status, e.violations) for e in harness.exchanges] == [
        ("GET", EVENTS_PATH, 200, None)]
    [request] = server.requests
    assert parse_qs(urlsplit(request.path).query) == {"page[size]": ["1"], "fields[event]": ["id"]}
    assert request.header("revision") == REVISION


def test_write_is_accepted_by_the_spec(proxied: tuple[Harness, FaultServer]) -> None:
    harness, server = proxied
    batch = records("K1", "K2", "K3")
    outcomes = harness.destination().write(batch)
    assert [(e.path, e.status, e.violations) for e in harness.exchanges] == [(EVENTS_PATH, 202, None)] * 3
    assert [(o.key, o.status) for o in outcomes] == [(r.key, "delivered") for r in batch]
    for request, record in zip(server.requests, batch, strict=True):
        assert_sent_as_klaviyo_wants(request, record.key)
    profile = event_attributes(server.requests[0])["profile"]["data"]["attributes"]
    assert profile == {"email": "k1@example.com", "first_name": "Ada"}


def test_a_record_without_first_name_or_time_is_accepted_too(proxied: tuple[Harness, FaultServer]) -> None:
    harness, server = proxied
    outcomes = harness.destination().write(records("K1", first_name=None, source_product_name=None, time=None))
    assert [o.status for o in outcomes] == ["delivered"]
    assert [e.status for e in harness.exchanges] == [202]
    [request] = server.requests
    assert_matches_event_schema(request.json)
    attributes = event_attributes(request)
    assert attributes["profile"]["data"]["attributes"] == {"email": "k1@example.com"}
    assert "time" not in attributes and "source_product_name" not in attributes["properties"]


def test_the_schema_check_refuses_what_klaviyo_would() -> None:
    """The jsonschema check really validates: a wrong resource type and a missing profile are caught."""
    document = {"data": {"type": "events", "attributes": {"properties": {}, "unique_id": 5,
                                                         "metric": {"data": {"type": "metric",
                                                                             "attributes": {"name": METRIC}}}}}}
    messages = [error.message for error in event_schema_validator().iter_errors(document)]
    assert any("'events' is not one of ['event']" in message for message in messages), messages
    assert any("'profile' is a required property" in message for message in messages), messages
    assert any("5 is not valid under any of the given schemas" in message for message in messages), messages


def test_the_mock_judges_event_bodies(direct: Harness) -> None:
    """The fixture's normalised spec makes Prism refuse an event without metric or profile (as published: 202)."""
    document = {"data": {"type": "events", "attributes": {"properties": {}}}}
    answer = requests.post(direct.base_url + EVENTS_PATH, data=json.dumps(document), timeout=10,
                           headers={"Authorization": f"Klaviyo-API-Key {API_KEY}", "revision": REVISION,
                                    "Content-Type": JSON_API})
    assert answer.status_code == 422, answer.text


def test_the_mock_refuses_an_event_without_the_revision_header(klaviyo_mock: str) -> None:
    """The mock really validates what the tests above rely on."""
    answer = requests.post(klaviyo_mock + EVENTS_PATH, data=b"{}", timeout=10,
                           headers={"Authorization": f"Klaviyo-API-Key {API_KEY}", "Content-Type": JSON_API})
    assert answer.status_code == 422


# --- faults -------------------------------------------------------------------------------------------------------


def test_a_429_is_waited_out_then_the_event_is_delivered(proxied: tuple[Harness, FaultServer],
                                                         caplog: pytest.LogCaptureFixture) -> None:
    harness, server = proxied
    throttled = klaviyo_error(429, "throttled", "Request was throttled.", "Request was throttled. Expected available "
                              "in 1 second.")
    server.script("POST", EVENTS_PATH, Respond(429, throttled, {"Retry-After": "1", "Content-Type": JSON_API}))
    with caplog.at_level(logging.DEBUG):
        outcomes = harness.destination().write(records("K1", "K2"))
    assert [o.status for o in outcomes] == ["delivered", "delivered"]
    assert [e.status for e in harness.exchanges] == [429, 202, 202]
    assert harness.sleeps == [1.0]
    assert event_attributes(server.requests[0]) == event_attributes(server.requests[1])  # the same event again
    assert API_KEY not in caplog.text


def test_5xx_until_the_attempts_run_out_makes_every_record_retryable(proxied: tuple[Harness, FaultServer]) -> None:
    harness, server = proxied
    failure = klaviyo_error(503, "service_unavailable", "Service unavailable.", "Try again later.")
    server.handler("POST", EVENTS_PATH, lambda request: Respond(503, failure, {"Content-Type": JSON_API}))
    outcomes = harness.destination().write(records("K1", "K2", "K3"))
    assert [o.status for o in outcomes] == ["retryable"] * 3
    assert all("503" in (o.detail or "") for o in outcomes)
    assert [o.detail.startswith("Not sent") for o in outcomes if o.detail] == [False, True, True]
    assert len(server.requests) == MAX_ATTEMPTS  # the first event's attempts; the rest wait for the next run


def test_a_refused_event_is_rejected_with_klaviyos_words_and_the_rest_delivered(
        klaviyo_mock: str, fault_server: Callable[..., FaultServer]) -> None:
    server = fault_server()
    fake = FakeKlaviyo(klaviyo_mock, invalid_emails=frozenset({"k2@example.com"}))
    fake.install(server)
    harness = Harness(server.base_url)
    batch = records("K1", "K2", "K3")
    outcomes = by_key(harness.destination().write(batch))
    assert fake.upstream_statuses == [202, 202, 202]  # Prism accepted all three requests
    assert fake.schema_errors == []
    bad = batch[1].key
    assert (outcomes[bad].status, outcomes[bad].detail) == (
        "rejected", "Invalid email address: k2@example.com (/data/attributes/profile/data/attributes/email)")
    assert {key: o.status for key, o in outcomes.items() if key != bad} == {
        batch[0].key: "delivered", batch[2].key: "delivered"}
    assert len(server.requests) == 3  # a 400 is not retried
    assert sorted(fake.events) == [batch[0].key, batch[2].key]


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_stops_the_sync_without_showing_it(proxied: tuple[Harness, FaultServer], status: int,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    harness, server = proxied
    refused = klaviyo_error(status, "not_authenticated", "Authentication credentials were not provided.",
                            "Missing or invalid private key.")
    server.script("POST", EVENTS_PATH, Respond(status, refused, {"Content-Type": JSON_API}))
    server.script("GET", EVENTS_PATH, Respond(status, refused, {"Content-Type": JSON_API}))
    for error in harness.write_then_check(records("K1", "K2"), caplog):
        assert str(error).startswith(f"Klaviyo rejected KLAVIYO_API_KEY ({status})")
        assert API_KEY not in shown(error)
    assert API_KEY not in caplog.text
    assert [request.method for request in server.requests] == ["POST", "GET"]  # stopped at the first refusal


def test_a_check_against_a_failing_klaviyo_names_the_base_url_setting(proxied: tuple[Harness, FaultServer]) -> None:
    harness, server = proxied
    server.script("GET", EVENTS_PATH, *[Respond(503, "Service unavailable")] * MAX_ATTEMPTS)
    with pytest.raises(DestinationError, match=r"Klaviyo's events check at .* failed .*check KLAVIYO_BASE_URL"):
        harness.destination().check()
    assert len(server.requests) == MAX_ATTEMPTS


def test_the_mock_refuses_a_request_without_the_api_key(klaviyo_mock: str) -> None:
    answer = requests.get(klaviyo_mock + EVENTS_PATH, params={"page[size]": "1"}, timeout=10,
                          headers={"revision": REVISION, "Accept": JSON_API})
    assert answer.status_code == 401


# --- idempotence --------------------------------------------------------------------------------------------------


def test_a_replay_sends_the_same_unique_ids_so_klaviyo_keeps_one_event_each(
        klaviyo_mock: str, fault_server: Callable[..., FaultServer]) -> None:
    server = fault_server()
    fake = FakeKlaviyo(klaviyo_mock)
    fake.install(server)
    harness = Harness(server.base_url)
    batch = records("K1", "K2")
    first = harness.destination().write(batch)
    replay = harness.destination().write(batch)  # the ledger never heard back: the same batch again
    assert {o.status for o in first + replay} == {"delivered"}
    sent = [event_attributes(request)["unique_id"] for request in server.requests]
    assert sent == [r.key for r in batch] * 2
    assert sorted(fake.events) == sorted(r.key for r in batch)
    assert set(fake.upstream_statuses) == {202}
    assert fake.schema_errors == []
