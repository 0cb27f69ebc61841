"""HubSpot companies: upsert one batch by a unique id property through the CRM v3 batch endpoints.

The vendor spec we hold (../shared/contracts/hubspot_crm.oas.json) has no `batch/upsert`, so an upsert is three
calls, each idempotent on a replay:

1. `POST /crm/v3/objects/companies/batch/read` with `idProperty`: which keys already have a company, and its id;
2. `POST /crm/v3/objects/companies/batch/update` for those, by HubSpot id;
3. `POST /crm/v3/objects/companies/batch/create` for the rest (each input with `associations: []`).

A replay after a crash finds the companies the first attempt created and updates them instead of creating twice.
For the same reason a create is never resent within a run once it may have reached HubSpot (a 5xx, a timeout, a
connection lost after sending): its records end `retryable`, and the next run's batch/read finds any company it made.

HubSpot answers 207 with `results` and `errors` when part of a batch fails; each error names the records it is
about in its `context` (ids or id property values), which is how a record gets its own outcome. When one bad input
makes HubSpot refuse a whole create or update instead (a 400 VALIDATION_ERROR naming no record), the batch is sent
again in halves until the records at fault are alone, so only they end `rejected`.

Everything that turns records into request bodies or responses into outcomes is a pure function below the class.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from orchestration.lib.sync.destinations import DestinationError, Record, RecordOutcome, Status
from orchestration.lib.sync.http import DeliveryError, JsonHttpClient

DEFAULT_BASE_URL = "https://api.hubapi.com"
TOKEN_ENV = "HUBSPOT_ACCESS_TOKEN"
BASE_URL_ENV = "HUBSPOT_BASE_URL"
DEFAULT_ID_PROPERTY = "expansion_customer_id"

COMPANIES_PATH = "/crm/v3/objects/companies"
BATCH_READ_PATH = f"{COMPANIES_PATH}/batch/read"
BATCH_CREATE_PATH = f"{COMPANIES_PATH}/batch/create"
BATCH_UPDATE_PATH = f"{COMPANIES_PATH}/batch/update"
SEARCH_PATH = f"{COMPANIES_PATH}/search"

# Columns a sync model carries for the ledger that are not HubSpot properties.
LEDGER_COLUMNS = frozenset({"record_key"})
NOT_FOUND_CATEGORY = "OBJECT_NOT_FOUND"
# Error categories worth sending again: throttling and HubSpot's own failures, plus the two races with another
# writer that the next attempt's batch/read settles: a create that finds the value taken (CONFLICT) and an update
# of a company deleted or merged since the read (OBJECT_NOT_FOUND).
RETRYABLE_CATEGORIES = frozenset({"RATE_LIMITS", "INTERNAL_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT", "CONFLICT",
                                  NOT_FOUND_CATEGORY})
AUTH_STATUSES = (401, 403)


class HubSpotCompanies:
    """Upserts company records into HubSpot by a unique company property (`expansion_customer_id` by default)."""

    name = "hubspot.companies"
    batch_size = 100  # HubSpot's limit for the batch read, create and update endpoints

    def __init__(self, client: JsonHttpClient, id_property: str = DEFAULT_ID_PROPERTY) -> None:
        self._client = client
        self.id_property = id_property

    def __repr__(self) -> str:
        return f"HubSpotCompanies(id_property={self.id_property!r})"

    @classmethod
    def from_environment(cls, env: Mapping[str, str], *, id_property: str = DEFAULT_ID_PROPERTY,
                         **client_options: Any) -> HubSpotCompanies:
        """Build from HUBSPOT_ACCESS_TOKEN (required) and HUBSPOT_BASE_URL (default: HubSpot's API host).

        `client_options` go to JsonHttpClient (timeout, max_attempts, sleep, …).
        """
        token = (env.get(TOKEN_ENV) or "").strip()
        if not token:
            raise DestinationError(f"HubSpot needs {TOKEN_ENV}: set it to a private app's access token.")
        base_url = (env.get(BASE_URL_ENV) or "").strip() or DEFAULT_BASE_URL
        headers = {"Authorization": f"Bearer {token}"}
        client = JsonHttpClient(base_url, headers, secret_headers=("Authorization",), **client_options)
        return cls(client, id_property=id_property)

    def check(self) -> None:
        """Search for one company: a cheap authenticated read, exempt from HubSpot's ten-secondly limit.

        Not `GET /crm/v3/objects/companies?limit=1`: the spec's example answer for it breaks the spec's own schema
        (results without `id`), so a validating mock answers it with 500.
        """
        try:
            self._client.request("POST", SEARCH_PATH, json_body=search_one_body(self.id_property))
        except DeliveryError as error:
            raise_if_auth_error(error)
            raise DestinationError(
                f"HubSpot's companies check at {self._client.base_url} failed ({error}); check {BASE_URL_ENV}."
            ) from error

    def write(self, batch: Sequence[Record]) -> list[RecordOutcome]:
        """Upsert `batch`; one outcome per record (records sharing a key share the last one's outcome)."""
        latest = {record.key: record for record in batch}
        if not latest:
            return []
        read_body = batch_read_body(list(latest), self.id_property)
        try:
            read = self._client.request("POST", BATCH_READ_PATH, json_body=read_body)
        except DeliveryError as error:
            return [batch_failure_outcome(record.key, error) for record in batch]
        existing, outcomes = parse_batch_read(read.body, list(latest), self.id_property, read.status)
        to_update = {key: hs_id for key, hs_id in existing.items() if key not in outcomes}
        to_create = [key for key in latest if key not in existing and key not in outcomes]
        if to_update:
            outcomes.update(self._update([latest[key] for key in to_update], to_update))
        if to_create:
            outcomes.update(self._create([latest[key] for key in to_create]))
        return [outcome_for(record.key, outcomes) for record in batch]

    def _update(self, records: list[Record], hubspot_ids: Mapping[str, str]) -> dict[str, RecordOutcome]:
        def body(part: Sequence[Record]) -> dict[str, Any]:
            return batch_update_body(part, hubspot_ids, self.id_property)

        return self._send(BATCH_UPDATE_PATH, records, body, hubspot_ids, idempotent=True)

    def _create(self, records: list[Record]) -> dict[str, RecordOutcome]:
        def body(part: Sequence[Record]) -> dict[str, Any]:
            return batch_create_body(part, self.id_property)

        # Not idempotent: a create resent after HubSpot committed it would make the companies twice.
        return self._send(BATCH_CREATE_PATH, records, body, {}, idempotent=False)

    def _send(self, path: str, records: Sequence[Record], body: Callable[[Sequence[Record]], dict[str, Any]],
              hubspot_ids: Mapping[str, str], *, idempotent: bool) -> dict[str, RecordOutcome]:
        """Send `records` in one request; when HubSpot refuses it as a whole, send each half again (recursively).

        Bisection finds b bad records among n in about 2·b·log2(n) requests instead of n; only a refusal that the
        same request could earn from one record's content is split (see `is_splittable_refusal`). Resending the
        halves of a refused create cannot duplicate: a 4xx means HubSpot wrote nothing of that batch, and were it
        otherwise the unique id property would make HubSpot answer 409 (retryable) rather than create twice.
        """
        keys = [record.key for record in records]
        try:
            response = self._client.request("POST", path, json_body=body(records), idempotent=idempotent)
        except DeliveryError as error:
            if not is_splittable_refusal(error, len(records)):
                return {key: batch_failure_outcome(key, error) for key in keys}
            middle = len(records) // 2
            first = self._send(path, records[:middle], body, hubspot_ids, idempotent=idempotent)
            return first | self._send(path, records[middle:], body, hubspot_ids, idempotent=idempotent)
        return parse_batch_write(response.body, keys, self.id_property, hubspot_ids, response.status)


# --- errors -------------------------------------------------------------------------------------------------------


def raise_if_auth_error(error: DeliveryError) -> None:
    """A 401 or 403 means the token, not the records, is wrong: stop the whole sync."""
    if error.status in AUTH_STATUSES:
        raise DestinationError(
            f"HubSpot rejected {TOKEN_ENV} ({error.status}): check the private app's token and its "
            "crm.objects.companies.read/write scopes."
        ) from error


def batch_failure_outcome(key: str, error: DeliveryError) -> RecordOutcome:
    """The outcome of one record in a request that failed as a whole (raises for a bad token)."""
    raise_if_auth_error(error)
    if error.retryable or error.status == 409:  # 409: a lost create race, the next read finds the company
        return RecordOutcome(key=key, status="retryable", detail=str(error))
    return RecordOutcome(key=key, status="rejected", detail=vendor_message(error.body) or str(error))


def is_splittable_refusal(error: DeliveryError, size: int) -> bool:
    """Whether a whole-batch failure of `size` records is worth sending again in halves.

    Yes for a non-retryable 4xx other than 401/403 (HubSpot's 400 VALIDATION_ERROR when one input is bad, a 409
    when one value is taken) on more than one record: the halves find the records at fault. Not for a bad token,
    a single record, or a failure that is retryable anyway (429, 5xx, lost connections).
    """
    status = error.status
    return (size > 1 and not error.retryable and status is not None and 400 <= status < 500
            and status not in AUTH_STATUSES)


def vendor_message(body: Any) -> str | None:
    """HubSpot's own sentence from an error body (`message`, with `category` in front), if it has one."""
    if not isinstance(body, Mapping) or not body.get("message"):
        return None
    category = body.get("category")
    return f"{category}: {body['message']}" if category else str(body["message"])


def is_retryable_error(error: Mapping[str, Any]) -> bool:
    """Whether one entry of a 207 response's `errors` is worth sending again."""
    if str(error.get("category") or "").upper() in RETRYABLE_CATEGORIES:
        return True
    code = _status_code(error.get("status"))
    return code is not None and (code == 429 or code >= 500)


def _status_code(value: Any) -> int | None:
    match = re.fullmatch(r"\s*(\d{3})\s*", str(value or ""))
    return int(match.group(1)) if match else None


def error_subjects(error: Mapping[str, Any]) -> set[str]:
    """Every string in an error's `context` (and its details' contexts): the ids or values it is about."""
    subjects: set[str] = set()
    contexts = [error.get("context")] + [d.get("context") for d in error.get("errors") or [] if isinstance(d, Mapping)]
    for context in contexts:
        if isinstance(context, Mapping):
            for values in context.values():
                subjects.update(str(value) for value in _as_list(values))
    return subjects


def _as_list(values: Any) -> list[Any]:
    return list(values) if isinstance(values, list | tuple) else [values]


# --- record -> request body ---------------------------------------------------------------------------------------


def company_properties(record: Record, id_property: str) -> dict[str, str]:
    """The record's HubSpot properties, every value a string (HubSpot rejects numbers); None leaves one out."""
    properties = {}
    for name, value in record.payload.items():
        text = property_text(value)
        if name not in LEDGER_COLUMNS and text is not None:
            properties[str(name)] = text
    properties[id_property] = record.key
    return properties


def property_text(value: Any) -> str | None:
    """One property value as HubSpot's text: numbers plain, booleans `true`/`false`, instants ISO 8601 UTC."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return property_text(value.item())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        return _plain_number(Decimal(str(value)))
    if isinstance(value, datetime):
        return _utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ";".join(text for text in (property_text(item) for item in value) if text is not None)
    if isinstance(value, Mapping):
        return json.dumps(value, default=str, sort_keys=True)
    return str(value)


def _plain_number(number: Decimal) -> str | None:
    """No exponent (HubSpot parses `1E+3` as text); None for NaN."""
    return format(number, "f") if number.is_finite() else None


def _utc(moment: datetime) -> datetime:
    """Naive instants are UTC in this project (`<event>_at` columns)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def search_one_body(id_property: str) -> dict[str, Any]:
    """A search for any one company (every field the spec requires, no filters)."""
    return {"filterGroups": [], "sorts": [], "properties": [id_property], "limit": 1, "after": "0"}


def batch_read_body(keys: Iterable[str], id_property: str) -> dict[str, Any]:
    """Find companies by id property value, returning that property to match results back to keys."""
    return {
        "idProperty": id_property,
        "inputs": [{"id": key} for key in keys],
        "properties": [id_property],
        "propertiesWithHistory": [],
    }


def batch_create_body(records: Sequence[Record], id_property: str) -> dict[str, Any]:
    """New companies; the spec requires `associations` beside `properties`, and an empty list is enough."""
    return {"inputs": [{"properties": company_properties(r, id_property), "associations": []} for r in records]}


def batch_update_body(records: Sequence[Record], hubspot_ids: Mapping[str, str], id_property: str) -> dict[str, Any]:
    """Existing companies by their HubSpot id (found by batch/read)."""
    return {"inputs": [{"id": hubspot_ids[r.key], "properties": company_properties(r, id_property)} for r in records]}


# --- response -> outcomes -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Matcher:
    """Maps what HubSpot names in a response (HubSpot ids, id property values) back to record keys."""

    keys: tuple[str, ...]
    id_property: str
    hubspot_ids: Mapping[str, str]  # key -> HubSpot id, for updates

    def key_of_result(self, result: Mapping[str, Any]) -> str | None:
        properties = result.get("properties") or {}
        value = properties.get(self.id_property) if isinstance(properties, Mapping) else None
        if value is not None and str(value) in self.keys:
            return str(value)
        by_id = {hs_id: key for key, hs_id in self.hubspot_ids.items()}
        return by_id.get(str(result.get("id")))

    def keys_of_error(self, error: Mapping[str, Any]) -> list[str]:
        subjects = error_subjects(error)
        return [key for key in self.keys if key in subjects or self.hubspot_ids.get(key) in subjects]


def parse_batch_read(body: Any, keys: Sequence[str], id_property: str,
                     status: int = 200) -> tuple[dict[str, str], dict[str, RecordOutcome]]:
    """From a batch/read answer: {key: HubSpot id} of the companies that exist, and outcomes already settled.

    A key HubSpot reports as OBJECT_NOT_FOUND (or simply leaves out) does not exist yet. A key named by another
    error gets that error's outcome. When an error names no key, keys left out of the results may or may not exist:
    they become retryable rather than risk a duplicate create.
    """
    matcher = _Matcher(tuple(keys), id_property, {})
    existing: dict[str, str] = {}
    for result in _entries(body, "results"):
        key = matcher.key_of_result(result)
        if key is not None and key not in existing and result.get("id") is not None:
            existing[key] = str(result["id"])
    settled: dict[str, RecordOutcome] = {}
    unattributed: list[Mapping[str, Any]] = []
    for error in _entries(body, "errors"):
        if str(error.get("category") or "").upper() == NOT_FOUND_CATEGORY:
            continue
        named = [key for key in matcher.keys_of_error(error) if key not in existing]
        settled.update({key: error_outcome(key, error) for key in named})
        if not named:
            unattributed.append(error)
    if unattributed or status >= 300:
        detail = _unconfirmed_detail("HubSpot could not tell whether this company exists", unattributed)
        for key in keys:
            if key not in existing and key not in settled:
                settled[key] = RecordOutcome(key=key, status="retryable", detail=detail)
    return existing, settled


def parse_batch_write(body: Any, keys: Sequence[str], id_property: str, hubspot_ids: Mapping[str, str],
                      status: int) -> dict[str, RecordOutcome]:
    """Outcomes from a batch/create or batch/update answer (200/201 complete, or 207 multi-status).

    Results become `delivered` with their HubSpot id; errors become `rejected` with HubSpot's message, or
    `retryable` when their category or status says so. A record neither confirmed nor named: delivered on a
    complete 200/201 without errors that holds one result per input (HubSpot accepted the whole batch, but the
    results may not echo our id property), retryable otherwise, including a 200/201 with fewer results than inputs.
    """
    matcher = _Matcher(tuple(keys), id_property, hubspot_ids)
    outcomes: dict[str, RecordOutcome] = {}
    results = _entries(body, "results")
    for result in results:
        key = matcher.key_of_result(result)
        if key is not None:
            external_id = str(result["id"]) if result.get("id") is not None else hubspot_ids.get(key)
            outcomes[key] = RecordOutcome(key=key, status="delivered", external_id=external_id)
    errors = _entries(body, "errors")
    unattributed = []
    for error in errors:
        named = matcher.keys_of_error(error)
        outcomes.update({key: error_outcome(key, error) for key in named})
        if not named:
            unattributed.append(error)
    accepted = status in (200, 201) and not errors
    complete = accepted and len(results) == len(keys)
    sentence = "HubSpot did not confirm this company"
    if accepted and not complete:
        sentence += f" (its answer holds {len(results)} results for {len(keys)} inputs)"
    for key in keys:
        if key in outcomes:
            continue
        if complete:
            outcomes[key] = RecordOutcome(key=key, status="delivered", external_id=hubspot_ids.get(key))
        else:
            detail = _unconfirmed_detail(sentence, unattributed)
            outcomes[key] = RecordOutcome(key=key, status="retryable", detail=detail)
    return outcomes


def error_outcome(key: str, error: Mapping[str, Any]) -> RecordOutcome:
    """One record named by one entry of a 207 response's `errors`."""
    status: Status = "retryable" if is_retryable_error(error) else "rejected"
    return RecordOutcome(key=key, status=status, detail=vendor_message(error) or "HubSpot reported an error")


def outcome_for(key: str, outcomes: Mapping[str, RecordOutcome]) -> RecordOutcome:
    """The settled outcome of `key` (every key is settled by write; this guards the invariant)."""
    return outcomes.get(key) or RecordOutcome(key=key, status="retryable", detail="HubSpot gave no outcome")


def _unconfirmed_detail(sentence: str, errors: Sequence[Mapping[str, Any]]) -> str:
    messages = [message for message in (vendor_message(error) for error in errors) if message]
    return f"{sentence}: {'; '.join(messages)}" if messages else f"{sentence}."


def _entries(body: Any, field: str) -> list[Mapping[str, Any]]:
    values = body.get(field) if isinstance(body, Mapping) else None
    return [value for value in values or [] if isinstance(value, Mapping)]
