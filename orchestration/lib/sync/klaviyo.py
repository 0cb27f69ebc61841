"""Klaviyo events: one `POST /api/events` per record, de-duplicated by Klaviyo through `unique_id`.

Why not the bulk endpoint (`POST /api/event-bulk-create-jobs`, up to 1,000 events a request)? Its spec says that
"if a unique_id is repeated for the same profile and metric, the request will fail and no events will be
processed": a replay after a crash would fail every event of the batch, including the ones never delivered. It
answers 202 with no body and the spec has no endpoint to read the job back, so it cannot tell which events
failed either. `POST /api/events` keeps a repeated `unique_id` harmless ("only the first processed event will be
recorded") and gives each record its own 202 or error, which is what the ledger needs. Its rate limit (350/s burst,
3,500/min steady) is ample for a daily batch; the shared HTTP client waits out 429s.

`connect` builds the destination from a private API key; `SPEC` registers it (see registry.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from orchestration.lib.sync.destinations import Record, RecordOutcome
from orchestration.lib.sync.http import DeliveryError, JsonHttpClient, message_of, vendor_message
from orchestration.lib.sync.values import as_utc, json_value
from orchestration.lib.sync.vendor import Vendor

REVISION = "2026-07-15"
JSON_API = "application/vnd.api+json"
KLAVIYO = Vendor(title="Klaviyo", kind="klaviyo", credential_setting="KLAVIYO_API_KEY",
                 base_url_setting="KLAVIYO_BASE_URL", default_base_url="https://a.klaviyo.com",
                 credential_kind="a private API key", scheme="Klaviyo-API-Key", scopes=("events:read", "events:write"),
                 headers={"revision": REVISION, "Accept": JSON_API})  # every request names the API revision it speaks
DEFAULT_METRIC_NAME = "Cross-sell recommendation"

EVENTS_PATH = "/api/events"

# Payload fields that are not event properties: the envelope (unique id, metric, time) and the profile, plus the
# consent flag the quality gate reads (always true by the time a row gets here). The payload holds no record_key:
# delivery keeps the key out of it.
PROFILE_FIELDS = ("email", "first_name")
TIME_FIELD = "time"
NON_PROPERTY_FIELDS = frozenset({"unique_id", "metric_name", TIME_FIELD, "is_email_consented", *PROFILE_FIELDS})
JSON_TEXT_FIELDS = frozenset({"recommended_products"})  # JSON arrays the warehouse hands over as text


@dataclass(eq=False)
class KlaviyoEvents:
    """Sends each record as one Klaviyo event of one metric, for the profile identified by its e-mail."""

    name = "klaviyo.events"
    batch_size = 50  # records per write; each is its own request, so this only sets how often the ledger commits

    _client: JsonHttpClient = field(repr=False)  # it holds the API key
    metric_name: str = DEFAULT_METRIC_NAME

    def check(self) -> None:
        """Read one event (`GET /api/events?page[size]=1`): the cheapest authenticated call the spec offers.

        The spec has no "who am I" endpoint, so this needs the key's events:read scope beside events:write.
        """
        KLAVIYO.check(self._client, "events", "GET", EVENTS_PATH, scopes=("events:read",),
                      params={"page[size]": "1", "fields[event]": "id"}, content_type=JSON_API)

    def write(self, batch: Sequence[Record]) -> list[RecordOutcome]:
        """Send each record as its own event; one outcome per record.

        Once an event has used up its retries (Klaviyo failing or throttling for minutes), the rest of the batch
        is not sent: those records are retryable at once rather than each waiting out the same outage.
        """
        outcomes: list[RecordOutcome] = []
        outage: DeliveryError | None = None
        for record in batch:
            if outage is not None:
                outcomes.append(RecordOutcome(key=record.key, status="retryable",
                                              detail=f"Not sent: an earlier event of the batch failed ({outage})"))
                continue
            outcome, error = self._send(record)
            outcomes.append(outcome)
            if error is not None and error.retryable:
                outage = error
        return outcomes

    def _send(self, record: Record) -> tuple[RecordOutcome, DeliveryError | None]:
        try:
            body = event_request_body(record, self.metric_name)
        except ValueError as problem:
            return RecordOutcome(key=record.key, status="rejected", detail=str(problem)), None
        try:
            self._client.request("POST", EVENTS_PATH, json_body=body, content_type=JSON_API)
        except DeliveryError as error:
            KLAVIYO.raise_if_auth_error(error, "events:write")
            if error.retryable:
                return RecordOutcome(key=record.key, status="retryable", detail=str(error)), error
            return RecordOutcome(key=record.key, status="rejected", detail=error_detail(error)), error
        return RecordOutcome(key=record.key, status="delivered"), None


SPEC = KLAVIYO.spec(KlaviyoEvents, name=KlaviyoEvents.name, asset_name="klaviyo_cross_sell_events",
                    model="sync_klaviyo__cross_sell_events", resend_changed=False,
                    description="One Klaviyo event per consenting contact's cross-sell recommendation, kept once per "
                    "unique_id.")
connect = SPEC.connect  # connect(api_key, base_url=None, **client_options) -> KlaviyoEvents


# --- errors -------------------------------------------------------------------------------------------------------


def error_detail(error: DeliveryError) -> str:
    """Klaviyo's own words from a JSON:API error body (`errors[].detail`), else the client's sentence."""
    return vendor_message(error.body, pointed_detail) or str(error)


def pointed_detail(error: Mapping[str, Any]) -> str | None:
    """One JSON:API error's `detail` (or `title`), with the JSON pointer to the field at fault when it names one.

    The formatting hook Klaviyo gives `http.vendor_message`, which finds the error objects in a body.
    """
    text = message_of(error)
    source = error.get("source")
    pointer = source.get("pointer") if isinstance(source, Mapping) else None
    return f"{text} ({pointer})" if text and pointer else text


# --- record -> request body ---------------------------------------------------------------------------------------


def event_request_body(record: Record, metric_name: str) -> dict[str, Any]:
    """The JSON:API document `POST /api/events` takes for one record (raises ValueError for an unusable record)."""
    attributes: dict[str, Any] = {
        "properties": event_properties(record.payload),
        "unique_id": record.key,
        "metric": {"data": {"type": "metric", "attributes": {"name": metric_name}}},
        "profile": {"data": {"type": "profile", "attributes": profile_attributes(record)}},
    }
    moment = event_time(record.payload.get(TIME_FIELD))
    if moment is not None:
        attributes["time"] = moment
    return {"data": {"type": "event", "attributes": attributes}}


def profile_attributes(record: Record) -> dict[str, str]:
    """The profile, identified by e-mail; the first name when there is one."""
    email = record.payload.get("email")
    if not isinstance(email, str) or not email.strip():
        raise ValueError(f"Record {record.key} has no e-mail address, which Klaviyo needs to identify the profile.")
    attributes = {"email": email.strip()}
    first_name = record.payload.get("first_name")
    if isinstance(first_name, str) and first_name.strip():
        attributes["first_name"] = first_name.strip()
    return attributes


def event_properties(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Everything else in the payload, as Klaviyo's JSON values (`event_value`): JSON text parsed, None left out."""
    properties = {}
    for name, value in payload.items():
        if name in NON_PROPERTY_FIELDS:
            continue
        if name in JSON_TEXT_FIELDS and isinstance(value, str):
            value = _parse_json_text(name, value)
        converted = event_value(value)
        if converted is not None:
            properties[str(name)] = converted
    return properties


def _parse_json_text(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as problem:
        raise ValueError(f"Field {name} is not valid JSON text ({problem.msg} at character {problem.pos}).") from None


def event_value(value: Any) -> Any:
    """A payload value as Klaviyo's JSON (`values.json_value`, with decimals as numbers Klaviyo can segment on and
    instants with an explicit UTC offset); None stays None, callers drop it."""
    return json_value(value, decimal=decimal_number, instant=datetime.isoformat)


def decimal_number(number: Decimal) -> int | float:
    """A finite decimal as a JSON number: whole ones as integers."""
    return int(number) if number == number.to_integral_value() else float(number)


def event_time(value: Any) -> str | None:
    """The event's `time` as ISO 8601 (naive instants are UTC); None lets Klaviyo use the time it receives it."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return iso_text(value)
    if isinstance(value, date):  # the spec wants a date-time: the day's start, UTC
        return iso_text(datetime(value.year, value.month, value.day, tzinfo=UTC))
    return str(value)


def iso_text(value: datetime | date) -> str:
    """ISO 8601 text; a datetime in UTC with an explicit offset (naive means UTC in this project)."""
    return as_utc(value).isoformat() if isinstance(value, datetime) else value.isoformat()
