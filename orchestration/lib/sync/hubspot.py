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
`connect` builds the destination from a token; `SPEC` registers it (see registry.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from orchestration.lib.sync.destinations import Record, RecordOutcome, Status
from orchestration.lib.sync.http import DeliveryError, JsonHttpClient, message_of, vendor_message
from orchestration.lib.sync.values import json_value
from orchestration.lib.sync.vendor import AUTH_STATUSES, Vendor

HUBSPOT = Vendor(title="HubSpot", kind="hubspot", credential_setting="HUBSPOT_ACCESS_TOKEN",
                 base_url_setting="HUBSPOT_BASE_URL", default_base_url="https://api.hubapi.com",
                 credential_kind="a private app's access token", scheme="Bearer",
                 scopes=("crm.objects.companies.read", "crm.objects.companies.write"))
DEFAULT_ID_PROPERTY = "expansion_customer_id"

COMPANIES_PATH = "/crm/v3/objects/companies"
BATCH_READ_PATH = f"{COMPANIES_PATH}/batch/read"
BATCH_CREATE_PATH = f"{COMPANIES_PATH}/batch/create"
BATCH_UPDATE_PATH = f"{COMPANIES_PATH}/batch/update"
SEARCH_PATH = f"{COMPANIES_PATH}/search"

NOT_FOUND_CATEGORY = "OBJECT_NOT_FOUND"
# Error categories worth sending again: throttling and HubSpot's own failures, plus the two races with another
# writer that the next attempt's batch/read settles: a create that finds the value taken (CONFLICT) and an update
# of a company deleted or merged since the read (OBJECT_NOT_FOUND).
RETRYABLE_CATEGORIES = frozenset({"RATE_LIMITS", "INTERNAL_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT", "CONFLICT",
                                  NOT_FOUND_CATEGORY})


@dataclass(eq=False)
class HubSpotCompanies:
    """Upserts company records into HubSpot by a unique company property (`expansion_customer_id` by default)."""

    name = "hubspot.companies"
    batch_size = 100  # HubSpot's limit for the batch read, create and update endpoints

    _client: JsonHttpClient = field(repr=False)  # it holds the token
    id_property: str = DEFAULT_ID_PROPERTY

    def check(self) -> None:
        """Search for one company: a cheap authenticated read, exempt from HubSpot's ten-secondly limit.

        Not `GET /crm/v3/objects/companies?limit=1`: the spec's example answer for it breaks the spec's own schema
        (results without `id`), so a validating mock answers it with 500.
        """
        HUBSPOT.check(self._client, "companies", "POST", SEARCH_PATH, json_body=search_one_body(self.id_property))

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


SPEC = HUBSPOT.spec(HubSpotCompanies, name=HubSpotCompanies.name, asset_name="hubspot_companies",
                    model="sync_hubspot__companies", resend_changed=True,
                    description="Each account's expansion signal on its HubSpot company, upserted by its id property.")
connect = SPEC.connect  # connect(token, base_url=None, **client_options) -> HubSpotCompanies


# --- errors -------------------------------------------------------------------------------------------------------


def batch_failure_outcome(key: str, error: DeliveryError) -> RecordOutcome:
    """The outcome of one record in a request that failed as a whole (raises for a bad token)."""
    HUBSPOT.raise_if_auth_error(error)
    if error.retryable or error.status == 409:  # 409: a lost create race, the next read finds the company
        return RecordOutcome(key=key, status="retryable", detail=str(error))
    return RecordOutcome(key=key, status="rejected", detail=vendor_message(error.body, category_message) or str(error))


def is_splittable_refusal(error: DeliveryError, size: int) -> bool:
    """Whether a whole-batch failure of `size` records is worth sending again in halves.

    Yes for a non-retryable 4xx other than 401/403 (HubSpot's 400 VALIDATION_ERROR when one input is bad, a 409
    when one value is taken) on more than one record: the halves find the records at fault. Not for a bad token,
    a single record, or a failure that is retryable anyway (429, 5xx, lost connections).
    """
    status = error.status
    return (size > 1 and not error.retryable and status is not None and 400 <= status < 500
            and status not in AUTH_STATUSES)


def category_message(error: Mapping[str, Any]) -> str | None:
    """HubSpot's own sentence for one error object: its `message`, with its `category` in front when it has one.

    The formatting hook HubSpot gives `http.vendor_message`, which finds the error objects in a body.
    """
    message = message_of(error)
    category = error.get("category")
    return f"{category}: {message}" if message and category else message


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
    """The record's HubSpot properties, every value a string (HubSpot rejects numbers); None leaves one out.

    The payload holds no record_key (delivery keeps the key out of it); the key goes in as the id property.
    """
    properties = {}
    for name, value in record.payload.items():
        text = property_text(value)
        if text is not None:
            properties[str(name)] = text
    properties[id_property] = record.key
    return properties


def property_text(value: Any) -> str | None:
    """One property value as HubSpot's text, from its JSON-ready value (`values.json_value`): numbers plain (no
    exponent, which HubSpot would take for text), booleans `true`/`false`, instants ISO 8601 UTC, lists joined
    with `;` (HubSpot's multiple-checkbox format), structs as JSON; None (and NaN) leaves the property out."""
    return _text(json_value(value))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(Decimal(str(value)), "f")
    if isinstance(value, list):
        return ";".join(text for text in map(_text, value) if text is not None)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


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
    return RecordOutcome(key=key, status=status,
                         detail=vendor_message(error, category_message) or "HubSpot reported an error")


def outcome_for(key: str, outcomes: Mapping[str, RecordOutcome]) -> RecordOutcome:
    """The settled outcome of `key` (every key is settled by write; this guards the invariant)."""
    return outcomes.get(key) or RecordOutcome(key=key, status="retryable", detail="HubSpot gave no outcome")


def _unconfirmed_detail(sentence: str, errors: Sequence[Mapping[str, Any]]) -> str:
    messages = [message for message in (vendor_message(error, category_message) for error in errors) if message]
    return f"{sentence}: {'; '.join(messages)}" if messages else f"{sentence}."


def _entries(body: Any, key: str) -> list[Mapping[str, Any]]:
    values = body.get(key) if isinstance(body, Mapping) else None
    return [value for value in values or [] if isinstance(value, Mapping)]
