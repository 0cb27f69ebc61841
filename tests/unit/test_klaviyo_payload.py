"""The Klaviyo destination's pure parts: record -> the JSON:API event document, vendor errors -> details."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from orchestration.lib.sync.destinations import DestinationError, Record
from orchestration.lib.sync.http import DeliveryError
from orchestration.lib.sync.klaviyo import SPEC, connect, error_detail, event_request_body, event_value

KEY = "xsell:K1:O9"
API_KEY = "pk_secret_klaviyo_key_value"
PRODUCTS = [{"product_id": "P2", "product_name": "Stand", "rank": 1, "score": 0.42, "reason": "bought together"}]


def sync_row(**overrides: object) -> dict[str, object]:
    """A record's payload from a row of sync_klaviyo__cross_sell_events: every column but record_key (the key)."""
    row: dict[str, object] = {
        "unique_id": KEY, "metric_name": "Cross-sell recommendation",
        "email": "ada@example.com", "contact_id": "K1", "customer_id": "C1", "first_name": "Ada",
        "source_order_id": "O9", "source_product_id": "P1", "source_product_name": "Desk",
        "recommended_products": json.dumps(PRODUCTS), "recommendation_count": 1,
        "send_after": datetime(2026, 11, 23, 8, 0), "send_before": datetime(2026, 11, 24, 8, 0),
        "is_email_consented": True,
    }
    row.update(overrides)
    return row


def test_event_document_has_the_json_api_shape_and_the_key_as_unique_id() -> None:
    body = event_request_body(Record(KEY, sync_row(time=datetime(2026, 11, 22, 9, 15))), "Cross-sell recommendation")
    assert body == {
        "data": {
            "type": "event",
            "attributes": {
                "properties": {
                    "contact_id": "K1", "customer_id": "C1", "source_order_id": "O9", "source_product_id": "P1",
                    "source_product_name": "Desk", "recommended_products": PRODUCTS, "recommendation_count": 1,
                    "send_after": "2026-11-23T08:00:00+00:00", "send_before": "2026-11-24T08:00:00+00:00",
                },
                "unique_id": KEY,
                "metric": {"data": {"type": "metric", "attributes": {"name": "Cross-sell recommendation"}}},
                "profile": {"data": {"type": "profile",
                                     "attributes": {"email": "ada@example.com", "first_name": "Ada"}}},
                "time": "2026-11-22T09:15:00+00:00",
            },
        }
    }


def test_optional_fields_are_left_out_and_the_destination_names_the_metric() -> None:
    body = event_request_body(Record(KEY, sync_row(first_name=None, source_product_name=None)), "Other metric")
    attributes = body["data"]["attributes"]
    assert attributes["profile"]["data"]["attributes"] == {"email": "ada@example.com"}
    assert "source_product_name" not in attributes["properties"]
    assert "time" not in attributes
    assert attributes["metric"]["data"]["attributes"]["name"] == "Other metric"


def test_a_date_event_time_becomes_a_date_time() -> None:
    body = event_request_body(Record(KEY, sync_row(time=date(2026, 11, 22))), "m")
    assert body["data"]["attributes"]["time"] == "2026-11-22T00:00:00+00:00"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": None}, "has no e-mail address"),
        ({"email": "  "}, "has no e-mail address"),
        ({"recommended_products": "[{"}, "Field recommended_products is not valid JSON text"),
    ],
)
def test_unusable_records_raise_one_sentence(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        event_request_body(Record(KEY, sync_row(**overrides)), "m")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("12.50"), 12.5), (Decimal("3"), 3), (Decimal("Infinity"), None), (float("nan"), None),
     ((1, Decimal("2.5")), [1, 2.5]), ({"a": date(2026, 1, 2)}, {"a": "2026-01-02"})],
)
def test_event_value(value: object, expected: object) -> None:
    assert event_value(value) == expected


def test_error_detail_uses_klaviyo_words() -> None:
    body = {"errors": [{"id": "1", "code": "invalid", "title": "Invalid input.",
                        "detail": "The email is not valid.", "source": {"pointer": "/data/attributes/profile"}}]}
    error = DeliveryError("POST /api/events was rejected with 400: Invalid input.", status=400, body=body)
    assert error_detail(error) == "The email is not valid. (/data/attributes/profile)"
    assert error_detail(DeliveryError("plain sentence.", status=400, body=None)) == "plain sentence."


def test_write_rejects_an_unusable_record_without_sending() -> None:
    destination = connect(API_KEY, "http://127.0.0.1:9")
    [outcome] = destination.write([Record(KEY, sync_row(email=None))])
    assert outcome.status == "rejected"
    assert "e-mail" in (outcome.detail or "")


@pytest.mark.parametrize("credential", ["", " ", None])
def test_connect_refuses_an_empty_key_naming_its_setting(credential: str | None) -> None:
    with pytest.raises(DestinationError, match=r"^Klaviyo needs KLAVIYO_API_KEY: set it to .*\.$"):
        connect(credential)  # type: ignore[arg-type]


def test_connect_keeps_the_key_out_of_reprs() -> None:
    destination = connect(API_KEY)
    client = destination._client
    assert client.base_url == "https://a.klaviyo.com/"
    assert client.redacted_headers() == {"Authorization": "<redacted>", "revision": "2026-07-15",
                                         "Accept": "application/vnd.api+json"}
    assert API_KEY not in repr(destination) + repr(client)
    assert (destination.name, destination.metric_name) == ("klaviyo.events", "Cross-sell recommendation")


def test_the_spec_connects_to_the_destination_it_names() -> None:
    destination = SPEC.connect(API_KEY, None)
    assert (SPEC.name, SPEC.kind, SPEC.credential_setting, SPEC.base_url_setting) == (
        destination.name, "klaviyo", "KLAVIYO_API_KEY", "KLAVIYO_BASE_URL")
    assert destination._client.base_url == "https://a.klaviyo.com/"
    assert not SPEC.resend_changed  # an event is final once delivered
