"""A stateful stand-in for HubSpot's company batch endpoints, for the fault server: Prism judges each request first.

Used by the HubSpot contract tests and by the end-to-end sync test, which needs answers that echo one result per
input (Prism's examples always hold exactly one result, whatever the batch).
"""

from __future__ import annotations

import itertools
from typing import Any

import requests

from orchestration.lib.sync.hubspot import BATCH_CREATE_PATH, BATCH_READ_PATH, BATCH_UPDATE_PATH
from tests.support.fault_server import FaultServer, RecordedRequest, Respond

ID = "expansion_customer_id"
NOW = "2026-11-22T06:00:00.000Z"


class FakeHubSpot:
    """A stateful stand-in for HubSpot's company batch endpoints: each request is first checked by Prism.

    Companies live in `companies` ({customer id: HubSpot id}); `invalid` maps a customer id to the validation
    message HubSpot would give that record in a 207; `refused` maps a customer id to the message of the 400 with
    which HubSpot refuses any create or update batch holding it, writing nothing of that batch.
    """

    def __init__(self, prism_url: str, companies: dict[str, str] | None = None,
                 invalid: dict[str, str] | None = None, refused: dict[str, str] | None = None) -> None:
        self.prism_url = prism_url
        self.companies = dict(companies or {})
        self.invalid = dict(invalid or {})
        self.refused = dict(refused or {})
        self.upstream_statuses: list[int] = []
        self._ids = itertools.count(9001)

    def install(self, server: FaultServer) -> None:
        server.handler("POST", BATCH_READ_PATH, self.read)
        self.install_writes(server)

    def install_writes(self, server: FaultServer) -> None:
        """Answer create and update only: batch/read goes on to the server's upstream (Prism's example answer)."""
        server.handler("POST", BATCH_CREATE_PATH, self.create)
        server.handler("POST", BATCH_UPDATE_PATH, self.update)

    def _refused(self, request: RecordedRequest) -> Respond | None:
        """HubSpot's whole-batch 400 when any input of a create or update is one of the `refused` keys."""
        keys = [item["properties"][ID] for item in request.json["inputs"]]
        return next((Respond(400, validation_error(self.refused[key])) for key in keys if key in self.refused), None)

    def _invalid(self, request: RecordedRequest, what: str) -> Respond | None:
        """HubSpot's 400 when Prism refuses the request (its status is kept in `upstream_statuses`), else None."""
        answer = requests.post(self.prism_url + request.path, data=request.body, timeout=10,
                               headers={"Authorization": request.header("Authorization") or "",
                                        "Content-Type": "application/json"})
        self.upstream_statuses.append(answer.status_code)
        return None if answer.ok else Respond(400, validation_error(f"Invalid batch {what} input."))

    def read(self, request: RecordedRequest) -> Respond:
        if refusal := self._invalid(request, "read"):
            return refusal
        found, missing = [], []
        for item in request.json["inputs"]:
            key = item["id"]
            (found if key in self.companies else missing).append(key)
        results = [company(self.companies[key], {ID: key}) for key in found]
        errors = [standard_error("OBJECT_NOT_FOUND", "Could not get some COMPANY objects, they may be deleted or not "
                                 "exist. Check that ids are valid.", ids=missing)] if missing else []
        return batch_answer(results, errors, 200)

    def create(self, request: RecordedRequest) -> Respond:
        if refusal := self._invalid(request, "create") or self._refused(request):
            return refusal
        results, errors = [], []
        for item in request.json["inputs"]:
            key = item["properties"][ID]
            if key in self.invalid:
                errors.append(standard_error("VALIDATION_ERROR", self.invalid[key], ids=[key]))
                continue
            self.companies[key] = str(next(self._ids))
            results.append(company(self.companies[key], item["properties"]))
        return batch_answer(results, errors, 201)

    def update(self, request: RecordedRequest) -> Respond:
        if refusal := self._invalid(request, "update") or self._refused(request):
            return refusal
        results = [company(item["id"], item["properties"]) for item in request.json["inputs"]]
        return batch_answer(results, [], 200)


def company(hs_id: str, properties: dict[str, str]) -> dict[str, Any]:
    return {"id": hs_id, "properties": properties, "createdAt": NOW, "updatedAt": NOW, "archived": False}


def standard_error(category: str, message: str, **context: list[str]) -> dict[str, Any]:
    return {"status": "error", "category": category, "message": message, "context": context, "errors": [],
            "links": {}}


def batch_answer(results: list[dict[str, Any]], errors: list[dict[str, Any]], ok_status: int) -> Respond:
    """HubSpot's batch answer: `ok_status` when all went through, 207 with `errors` and `numErrors` otherwise."""
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": NOW, "completedAt": NOW}
    if errors:
        body |= {"errors": errors, "numErrors": len(errors)}
    return Respond(207 if errors else ok_status, body)


def validation_error(message: str) -> dict[str, Any]:
    return {"status": "error", "message": message, "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf",
            "category": "VALIDATION_ERROR"}
