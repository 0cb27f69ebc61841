"""What a destination under test sent: each exchange with its status, and each retry wait, for the contract tests."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import httpx
import pytest

from orchestration.lib.names import RECORD_KEY
from orchestration.lib.sync.delivery import records_from_rows
from orchestration.lib.sync.destinations import Destination, DestinationError, DestinationSpec, Record, RecordOutcome
from tests.support.fault_server import FaultServer


@dataclass(frozen=True)
class Exchange:
    """One request the destination sent and the status it got back (Prism's 422s carry sl-violations)."""

    method: str
    path: str
    status: int
    violations: str | None


class RecordingTransport(httpx.BaseTransport):
    """httpx's own transport, noting each exchange in `exchanges` once its answer's headers are in."""

    def __init__(self, exchanges: list[Exchange]) -> None:
        self._inner = httpx.HTTPTransport()
        self._exchanges = exchanges

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        self._exchanges.append(Exchange(request.method, request.url.path, response.status_code,
                                        response.headers.get("sl-violations")))
        return response

    def close(self) -> None:
        self._inner.close()


@dataclass
class RecordingHarness:
    """A base URL for a destination, with every exchange and every retry wait recorded.

    Subclasses name the destination (`spec`), the credential to connect with and how many attempts its client
    makes; `destination()` connects through the spec as the orchestration does.
    """

    spec: ClassVar[DestinationSpec]
    credential: ClassVar[str]
    max_attempts: ClassVar[int]

    base_url: str
    exchanges: list[Exchange] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def destination(self) -> Destination:
        """`spec.connect` to `base_url`, waiting into `sleeps` and sending through a `RecordingTransport`."""
        return self.spec.connect(self.credential, self.base_url, sleep=self.sleeps.append,
                                 max_attempts=self.max_attempts, backoff_seconds=0.01,
                                 transport=RecordingTransport(self.exchanges))

    def write_then_check(self, batch: Sequence[Record], caplog: pytest.LogCaptureFixture) -> list[DestinationError]:
        """The DestinationErrors that a write of `batch`, then a check, of one destination raise (both must), with
        every log line down to DEBUG captured in `caplog`."""
        destination = self.destination()
        with caplog.at_level(logging.DEBUG), pytest.raises(DestinationError) as raised:
            destination.write(batch)
        with caplog.at_level(logging.DEBUG), pytest.raises(DestinationError) as checked:
            destination.check()
        return [raised.value, checked.value]


H = TypeVar("H", bound=RecordingHarness)


def harness_fixtures(harness: type[H]) -> tuple[Any, Any]:
    """A contract test module's `direct` and `proxied` fixtures for `harness`: on its vendor's Prism mock (the
    `<kind>_mock` fixture), and on a fault server whose unscripted requests go on to that mock."""
    mock = f"{harness.spec.kind}_mock"

    @pytest.fixture
    def direct(request: pytest.FixtureRequest) -> H:
        """A destination talking to Prism directly."""
        return harness(request.getfixturevalue(mock))

    @pytest.fixture
    def proxied(request: pytest.FixtureRequest, fault_server: Callable[..., FaultServer]) -> tuple[H, FaultServer]:
        """A destination talking to a fault server whose unscripted requests go on to Prism."""
        server = fault_server(upstream=request.getfixturevalue(mock))
        return harness(server.base_url), server

    return direct, proxied


def sync_records(rows: Sequence[Mapping[str, Any]]) -> list[Record]:
    """Rows of a sync model (each with its record_key) as delivery makes them records: the key out of the payload."""
    columns = list(rows[0]) if rows else [RECORD_KEY]
    return records_from_rows(columns, [tuple(row[column] for column in columns) for row in rows])


def shown(error: BaseException) -> str:
    """Everything an error shows: its message and repr, and its cause's."""
    return f"{error} {error!r} {error.__cause__} {error.__cause__!r}"


def by_key(outcomes: list[RecordOutcome]) -> dict[str, RecordOutcome]:
    return {outcome.key: outcome for outcome in outcomes}
