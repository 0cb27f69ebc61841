"""What a destination under test sent: each exchange with its status, and each retry wait, for the contract tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from orchestration.lib.sync.destinations import RecordOutcome


@dataclass(frozen=True)
class Exchange:
    """One request the destination sent and the status it got back (Prism's 422s carry sl-violations)."""

    method: str
    path: str
    status: int
    violations: str | None


@dataclass
class RecordingHarness:
    """A base URL for a destination, with every exchange and every retry wait recorded.

    Subclasses build the destination with `session()` and `sleeps.append` as its HTTP session and sleep.
    """

    base_url: str
    exchanges: list[Exchange] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def session(self) -> requests.Session:
        session = requests.Session()
        session.hooks["response"].append(self._record)
        return session

    def _record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        path = urlsplit(response.request.url).path
        self.exchanges.append(Exchange(response.request.method or "", path, response.status_code,
                                       response.headers.get("sl-violations")))


def by_key(outcomes: list[RecordOutcome]) -> dict[str, RecordOutcome]:
    return {outcome.key: outcome for outcome in outcomes}
