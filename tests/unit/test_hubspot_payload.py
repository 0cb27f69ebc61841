"""The HubSpot destination's pure parts: record -> request bodies, responses -> outcomes, errors -> statuses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from orchestration.lib.sync.destinations import DestinationError, Record
from orchestration.lib.sync.http import DeliveryError
from orchestration.lib.sync.hubspot import (
    SPEC,
    batch_create_body,
    batch_failure_outcome,
    batch_read_body,
    batch_update_body,
    company_properties,
    connect,
    is_splittable_refusal,
    parse_batch_read,
    parse_batch_write,
    property_text,
)

ID = "expansion_customer_id"
TOKEN = "pat-na1-secret-token-value"


def record(key: str, **payload: object) -> Record:
    return Record(key=key, payload=payload)


def test_company_properties_are_all_strings_and_none_is_left_out() -> None:
    properties = company_properties(
        record("C1", name="Acme", expansion_expected_mrr=Decimal("120.50"),
               expansion_priority_score=87.5, seats=12, is_active=True, expansion_recommended_plan=None,
               expansion_flagged_at=datetime(2026, 11, 22, 6, 30), renewal_date=date(2027, 1, 31)),
        ID,
    )
    assert properties == {
        ID: "C1",
        "name": "Acme",
        "expansion_expected_mrr": "120.50",
        "expansion_priority_score": "87.5",
        "seats": "12",
        "is_active": "true",
        "expansion_flagged_at": "2026-11-22T06:30:00Z",
        "renewal_date": "2027-01-31",
    }
    assert all(isinstance(value, str) for value in properties.values())


def test_the_key_wins_over_a_payload_id_property() -> None:
    assert company_properties(record("C1", expansion_customer_id="other"), ID)[ID] == "C1"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (False, "false"),
        (Decimal("1E+3"), "1000"),
        (1e20, "100000000000000000000"),
        (float("nan"), None),
        (Decimal("NaN"), None),
        (datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))), "2026-01-01T10:00:00Z"),
        (["a", None, 3], "a;3"),
        ("", ""),
    ],
)
def test_property_text(value: object, text: str | None) -> None:
    assert property_text(value) == text


def test_batch_bodies_have_the_shapes_the_spec_requires() -> None:
    records = [record("C1", name="Acme", seats=3), record("C2", name="Globex")]
    assert batch_read_body(["C1", "C2"], ID) == {
        "idProperty": ID, "inputs": [{"id": "C1"}, {"id": "C2"}], "properties": [ID], "propertiesWithHistory": [],
    }
    create = batch_create_body(records, ID)
    assert [set(item) for item in create["inputs"]] == [{"properties", "associations"}] * 2
    assert create["inputs"][0] == {"properties": {"name": "Acme", "seats": "3", ID: "C1"}, "associations": []}
    update = batch_update_body(records, {"C1": "901", "C2": "902"}, ID)
    assert update["inputs"] == [
        {"id": "901", "properties": {"name": "Acme", "seats": "3", ID: "C1"}},
        {"id": "902", "properties": {"name": "Globex", ID: "C2"}},
    ]


def _company(hs_id: str, key: str | None) -> dict[str, object]:
    properties = {ID: key} if key is not None else {}
    return {"id": hs_id, "properties": properties, "createdAt": "2026-01-01T00:00:00Z",
            "updatedAt": "2026-01-01T00:00:00Z"}


def _error(category: str, message: str, **context: list[str]) -> dict[str, object]:
    return {"status": "error", "category": category, "message": message, "context": context, "errors": [],
            "links": {}}


def test_batch_read_finds_existing_and_treats_not_found_as_new() -> None:
    body = {"status": "COMPLETE", "results": [_company("901", "C1")],
            "errors": [_error("OBJECT_NOT_FOUND", "Could not get some COMPANY objects", ids=["C2"])]}
    existing, settled = parse_batch_read(body, ["C1", "C2"], ID, 207)
    assert existing == {"C1": "901"}
    assert settled == {}


def test_batch_read_error_naming_a_key_settles_it_and_unnamed_errors_make_unknowns_retryable() -> None:
    body = {"status": "COMPLETE", "results": [],
            "errors": [_error("VALIDATION_ERROR", "Bad id value", ids=["C1"]),
                       _error("RATE_LIMITS", "Ten-secondly limit reached")]}
    existing, settled = parse_batch_read(body, ["C1", "C2"], ID, 207)
    assert existing == {}
    assert settled["C1"].status == "rejected"
    assert settled["C1"].detail == "VALIDATION_ERROR: Bad id value"
    assert settled["C2"].status == "retryable"
    assert "Ten-secondly limit reached" in (settled["C2"].detail or "")


def test_multi_status_create_rejects_exactly_the_named_record() -> None:
    body = {"status": "COMPLETE", "numErrors": 1, "results": [_company("901", "C1"), _company("903", "C3")],
            "errors": [_error("VALIDATION_ERROR", "Property values were not valid", ids=["C2"])]}
    outcomes = parse_batch_write(body, ["C1", "C2", "C3"], ID, {}, 207)
    assert {key: (o.status, o.external_id) for key, o in outcomes.items()} == {
        "C1": ("delivered", "901"), "C2": ("rejected", None), "C3": ("delivered", "903"),
    }
    assert outcomes["C2"].detail == "VALIDATION_ERROR: Property values were not valid"


def test_multi_status_retryable_errors_and_unconfirmed_records_are_retryable() -> None:
    body = {"status": "COMPLETE", "results": [],
            "errors": [_error("INTERNAL_ERROR", "Try again", ids=["C1"]),
                       {**_error("WHATEVER", "Slow down", ids=["C2"]), "status": "429"}]}
    outcomes = parse_batch_write(body, ["C1", "C2", "C3"], ID, {}, 207)
    assert [outcomes[key].status for key in ("C1", "C2", "C3")] == ["retryable"] * 3
    assert outcomes["C3"].detail == "HubSpot did not confirm this company."


def test_update_results_are_matched_by_hubspot_id() -> None:
    body = {"status": "COMPLETE", "results": [_company("901", None)],
            "errors": [_error("VALIDATION_ERROR", "Nope", ids=["902"])]}
    outcomes = parse_batch_write(body, ["C1", "C2"], ID, {"C1": "901", "C2": "902"}, 207)
    assert (outcomes["C1"].status, outcomes["C1"].external_id) == ("delivered", "901")
    assert outcomes["C2"].status == "rejected"


def test_a_complete_answer_delivers_records_it_does_not_echo() -> None:
    body = {"status": "COMPLETE", "results": [_company("512", "someone else")]}
    outcomes = parse_batch_write(body, ["C1"], ID, {}, 201)
    assert (outcomes["C1"].status, outcomes["C1"].external_id) == ("delivered", None)


def test_a_complete_answer_with_fewer_results_than_inputs_leaves_the_unconfirmed_retryable() -> None:
    body = {"status": "COMPLETE", "results": [_company("901", "C1"), _company("512", "someone else")]}
    outcomes = parse_batch_write(body, ["C1", "C2", "C3"], ID, {}, 201)
    assert (outcomes["C1"].status, outcomes["C1"].external_id) == ("delivered", "901")
    assert [(outcomes[key].status, outcomes[key].detail) for key in ("C2", "C3")] == [
        ("retryable", "HubSpot did not confirm this company (its answer holds 2 results for 3 inputs).")] * 2


def test_a_complete_answer_with_one_result_per_input_delivers_even_unechoed_updates() -> None:
    body = {"status": "COMPLETE", "results": [_company("512", None), _company("513", None)]}
    outcomes = parse_batch_write(body, ["C1", "C2"], ID, {"C1": "901", "C2": "902"}, 200)
    assert [(outcomes[key].status, outcomes[key].external_id) for key in ("C1", "C2")] == [
        ("delivered", "901"), ("delivered", "902")]


@pytest.mark.parametrize(
    ("error", "size", "split"),
    [
        (DeliveryError("bad", status=400, body={"category": "VALIDATION_ERROR"}), 2, True),
        (DeliveryError("taken", status=409), 10, True),
        (DeliveryError("bad", status=400), 1, False),
        (DeliveryError("token", status=401), 10, False),
        (DeliveryError("scopes", status=403), 10, False),
        (DeliveryError("exhausted", status=503, retryable=True), 10, False),
        (DeliveryError("lost connection", status=None, retryable=True), 10, False),
        (DeliveryError("too long a wait", status=429, retryable=True), 10, False),
    ],
    ids=["400", "409", "one-record", "401", "403", "5xx", "connection", "429"],
)
def test_only_a_refusal_that_one_record_can_cause_is_split(error: DeliveryError, size: int, split: bool) -> None:
    assert is_splittable_refusal(error, size) is split


def test_whole_batch_failures() -> None:
    exhausted = DeliveryError("POST x failed after 5 attempts.", status=503, retryable=True)
    assert batch_failure_outcome("C1", exhausted).status == "retryable"
    refused = DeliveryError("POST x was rejected with 400: bad.", status=400,
                            body={"category": "VALIDATION_ERROR", "message": "Property x does not exist"})
    outcome = batch_failure_outcome("C1", refused)
    assert (outcome.status, outcome.detail) == ("rejected", "VALIDATION_ERROR: Property x does not exist")
    assert batch_failure_outcome("C1", DeliveryError("conflict", status=409)).status == "retryable"
    with pytest.raises(DestinationError, match=r"HUBSPOT_ACCESS_TOKEN \(401\)"):
        batch_failure_outcome("C1", DeliveryError("no", status=401))


@pytest.mark.parametrize("credential", ["", "  ", None])
def test_connect_refuses_an_empty_token_naming_its_setting(credential: str | None) -> None:
    with pytest.raises(DestinationError, match=r"^HubSpot needs HUBSPOT_ACCESS_TOKEN: set it to .*\.$"):
        connect(credential, "http://127.0.0.1:1")  # type: ignore[arg-type]


def test_connect_keeps_the_token_out_of_reprs() -> None:
    destination = connect(TOKEN)
    client = destination._client
    assert client.base_url == "https://api.hubapi.com/"
    assert client.redacted_headers() == {"Authorization": "<redacted>"}
    assert TOKEN not in repr(destination) + repr(client)
    assert (destination.name, destination.batch_size, destination.id_property) == ("hubspot.companies", 100, ID)


def test_write_of_nothing_sends_nothing() -> None:
    assert connect(TOKEN, "http://127.0.0.1:9").write([]) == []


def test_the_spec_connects_to_the_destination_it_names() -> None:
    destination = SPEC.connect(TOKEN, "")
    assert (SPEC.name, SPEC.kind, SPEC.credential_setting, SPEC.base_url_setting) == (
        destination.name, "hubspot", "HUBSPOT_ACCESS_TOKEN", "HUBSPOT_BASE_URL")
    assert destination._client.base_url == "https://api.hubapi.com/"  # an empty base URL is HubSpot's host
    assert SPEC.resend_changed  # companies are updated in place when their payload changes


def test_naive_and_aware_instants_agree() -> None:
    aware = datetime(2026, 11, 22, 6, 30, tzinfo=UTC)
    assert property_text(aware) == property_text(aware.replace(tzinfo=None))
