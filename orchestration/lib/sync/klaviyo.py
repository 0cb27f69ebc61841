"""Klaviyo events: one `POST /api/events` per record, de-duplicated by Klaviyo through `unique_id`.

Why not the bulk endpoint (`POST /api/event-bulk-create-jobs`, up to 1,000 events a request)? Its spec says that
"if a unique_id is repeated for the same profile and metric, the request will fail and no events will be
processed": a replay after a crash would fail every event of the batch, including the ones never delivered. It
answers 202 with no body and the spec has no endpoint to read the job back, so it cannot tell which events
failed either. `POST /api/events` keeps a repeated `unique_id` harmless ("only the first processed event will be
recorded") and gives each record its own 202 or error, which is what the ledger needs. Its rate limit (350/s burst,
3,500/min steady) is ample for a daily batch; the shared HTTP client waits out 429s.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from orchestration.lib.sync.destinations import DestinationError, Record, RecordOutcome
from orchestration.lib.sync.http import DeliveryError, JsonHttpClient

DEFAULT_BASE_URL = "https://a.klaviyo.com"
API_KEY_ENV = "KLAVIYO_API_KEY"
BASE_URL_ENV = "KLAVIYO_BASE_URL"
REVISION = "2026-07-15"
JSON_API = "application/vnd.api+json"
DEFAULT_METRIC_NAME = "Cross-sell recommendation"

EVENTS_PATH = "/api/events"
AUTH_STATUSES = (401, 403)

# Payload fields that are not event properties: the ledger's key, the envelope (unique id, metric, time) and the
# profile, plus the consent flag the quality gate reads (always true by the time a row gets here).
PROFILE_FIELDS = ("email", "first_name")
TIME_FIELD = "time"
NON_PROPERTY_FIELDS = frozenset({"record_key", "unique_id", "metric_name", TIME_FIELD, "is_email_consented",
                                 *PROFILE_FIELDS})
JSON_TEXT_FIELDS = frozenset({"recommended_products"})  # JSON arrays the warehouse hands over as text


class KlaviyoEvents:
    """Sends each record as one Klaviyo event of one metric, for the profile identified by its e-mail."""

    name = "klaviyo.events"
    batch_size = 50  # records per write; each is its own request, so this only sets how often the ledger commits

    def __init__(self, client: JsonHttpClient, metric_name: str = DEFAULT_METRIC_NAME) -> None:
        self._client = client
        self.metric_name = metric_name

    def __repr__(self) -> str:
        return f"KlaviyoEvents(metric_name={self.metric_name!r})"

    @classmethod
    def from_environment(cls, env: Mapping[str, str], *, metric_name: str = DEFAULT_METRIC_NAME,
                         **client_options: Any) -> KlaviyoEvents:
        """Build from KLAVIYO_API_KEY (required, a private key) and KLAVIYO_BASE_URL (default: Klaviyo's host).

        `client_options` go to JsonHttpClient (timeout, max_attempts, sleep, …).
        """
        api_key = (env.get(API_KEY_ENV) or "").strip()
        if not api_key:
            raise DestinationError(f"Klaviyo needs {API_KEY_ENV}: set it to a private API key with events scopes.")
        base_url = (env.get(BASE_URL_ENV) or "").strip() or DEFAULT_BASE_URL
        headers = {"Authorization": f"Klaviyo-API-Key {api_key}", "revision": REVISION, "Accept": JSON_API}
        client = JsonHttpClient(base_url, headers, secret_headers=("Authorization",), **client_options)
        return cls(client, metric_name=metric_name)

    def check(self) -> None:
        """Read one event (`GET /api/events?page[size]=1`): the cheapest authenticated call the spec offers.

        The spec has no "who am I" endpoint, so this needs the key's events:read scope beside events:write.
        """
        params = {"page[size]": "1", "fields[event]": "id"}
        try:
            self._client.request("GET", EVENTS_PATH, params=params, content_type=JSON_API)
        except DeliveryError as error:
            raise_if_auth_error(error, "events:read")
            raise DestinationError(
                f"Klaviyo's events check at {self._client.base_url} failed ({error}); check {BASE_URL_ENV}."
            ) from error

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
            raise_if_auth_error(error, "events:write")
            if error.retryable:
                return RecordOutcome(key=record.key, status="retryable", detail=str(error)), error
            return RecordOutcome(key=record.key, status="rejected", detail=error_detail(error)), error
        return RecordOutcome(key=record.key, status="delivered"), None


# --- errors -------------------------------------------------------------------------------------------------------


def raise_if_auth_error(error: DeliveryError, scope: str) -> None:
    """A 401 or 403 means the key, not the record, is wrong: stop the whole sync."""
    if error.status in AUTH_STATUSES:
        raise DestinationError(
            f"Klaviyo rejected {API_KEY_ENV} ({error.status}): check that it is a valid private key with the "
            f"{scope} scope."
        ) from error


def error_detail(error: DeliveryError) -> str:
    """Klaviyo's own words from a JSON:API error body (`errors[].detail`), else the client's sentence."""
    body = error.body
    entries = body.get("errors") if isinstance(body, Mapping) else None
    details = []
    for entry in entries or []:
        if isinstance(entry, Mapping) and (entry.get("detail") or entry.get("title")):
            pointer = (entry.get("source") or {}).get("pointer") if isinstance(entry.get("source"), Mapping) else None
            text = str(entry.get("detail") or entry.get("title"))
            details.append(f"{text} ({pointer})" if pointer else text)
    return "; ".join(details) if details else str(error)


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
    """Everything else in the payload, as JSON values: JSON text parsed, instants ISO 8601 UTC, None left out."""
    properties = {}
    for name, value in payload.items():
        if name in NON_PROPERTY_FIELDS:
            continue
        if name in JSON_TEXT_FIELDS and isinstance(value, str):
            value = _parse_json_text(name, value)
        converted = json_value(value)
        if converted is not None:
            properties[str(name)] = converted
    return properties


def _parse_json_text(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as problem:
        raise ValueError(f"Field {name} is not valid JSON text ({problem.msg} at character {problem.pos}).") from None


def json_value(value: Any) -> Any:
    """A payload value as something JSON encodes faithfully (None stays None, callers drop it)."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return json_value(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return iso_text(value)
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(item) for item in value]
    return str(value)


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
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.isoformat()
    return value.isoformat()
