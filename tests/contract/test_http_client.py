"""The retrying HTTP client against our fault server (429, 5xx, drops, timeouts, 4xx) and Prism's vendor mocks."""

from __future__ import annotations

import json
import logging
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestration.lib.sync import http
from orchestration.lib.sync.http import DeliveryError, JsonHttpClient, never_reached_server, retry_after_seconds
from tests.support.fault_server import Delay, Drop, FaultServer, RecordedRequest, Respond
from tests.support.prism import PrismNotInstalledError, prism_mock, stop_process_group

TOKEN = "pat-na1-0f3c9a7e-5b1d-4c2e-9d8f-secret-token"
COMPANIES_CREATE = "/crm/v3/objects/companies/batch/create"
StartServer = Callable[..., FaultServer]


class FakeSleep:
    """Records the waits the client asks for instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


def make_client(base_url: str, sleep: FakeSleep, **options: Any) -> JsonHttpClient:
    """A client with a bearer token, tiny backoffs and the fake sleep; `options` override the keywords."""
    settings: dict[str, Any] = {"max_attempts": 4, "backoff_seconds": 0.01, "timeout": 5.0, "sleep": sleep}
    settings.update(options)
    return JsonHttpClient(base_url, {"Authorization": f"Bearer {TOKEN}", "revision": "2026-07-15"},
                          **settings)


def company_batch(**properties: object) -> dict[str, object]:
    """A HubSpot batch-create body with one company."""
    return {"inputs": [{"properties": {"domain": "acme.example", "name": "Acme", **properties}, "associations": []}]}


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def is_alive(pid: int) -> bool:
    """Whether `pid` is a live process (not gone, not a zombie awaiting its reaper), after a moment to die."""
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        if state in {"Z", "X"}:
            return False
        time.sleep(0.05)
    return True


# Success, and what is sent.


@pytest.mark.parametrize("slash", ["", "/"])
def test_a_2xx_returns_the_parsed_body_and_sends_compact_json(fault_server: StartServer, sleep: FakeSleep,
                                                              slash: str) -> None:
    server = fault_server()
    server.script("POST", "/api/events", Respond(202, {"id": "evt-1"}, headers={"X-Trace": "t1"}))
    body = {"name": "Zoë", "on": date(2026, 11, 22), "amount": 12.5}

    response = make_client(server.base_url + slash, sleep).request(
        "post", "/api/events", json_body=body, params={"page": "2"}, content_type="application/vnd.api+json")

    assert (response.status, response.body, response.headers["x-trace"]) == (202, {"id": "evt-1"}, "t1")
    [sent] = server.requests
    assert (sent.method, sent.path) == ("POST", "/api/events?page=2")
    assert sent.body == '{"name":"Zoë","on":"2026-11-22","amount":12.5}'.encode()
    assert sent.header("Content-Type") == "application/vnd.api+json"
    assert sent.header("Authorization") == f"Bearer {TOKEN}"
    assert sent.header("revision") == "2026-07-15"
    assert sleep.waits == []


def test_an_empty_or_non_json_body_parses_to_none(fault_server: StartServer, sleep: FakeSleep) -> None:
    server = fault_server()
    server.script("GET", "/things", Respond(204), Respond(200, "plain words"))
    client = make_client(server.base_url, sleep)

    empty, text = client.request("GET", "things"), client.request("GET", "things")

    assert (empty.status, empty.body, empty.text) == (204, None, "")
    assert (text.status, text.body, text.text) == (200, None, "plain words")
    assert server.requests[0].header("Content-Type") is None  # no body, no Content-Type


def test_an_accepted_status_is_returned_instead_of_raised(fault_server: StartServer, sleep: FakeSleep) -> None:
    server = fault_server()
    server.script("POST", "/x", Respond(409, {"message": "exists"}), Respond(409, {"message": "exists"}))
    client = make_client(server.base_url, sleep)

    assert client.request("POST", "/x", json_body={}, accept_statuses=[409]).status == 409
    with pytest.raises(DeliveryError) as raised:
        client.request("POST", "/x", json_body={})
    assert raised.value.status == 409
    assert len(server.requests) == 2


# 429 and Retry-After.


def test_a_429_waits_its_retry_after_seconds_then_succeeds(fault_server: StartServer, sleep: FakeSleep) -> None:
    server = fault_server()
    server.script("POST", COMPANIES_CREATE, Respond(429, {"message": "slow down"}, headers={"Retry-After": "2"}))

    response = make_client(server.base_url, sleep).request("POST", COMPANIES_CREATE, json_body=company_batch())

    assert response.status == 200
    assert sleep.waits == [2.0]
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body  # the same payload is sent again


def test_a_429_with_an_http_date_waits_until_that_date(fault_server: StartServer, sleep: FakeSleep) -> None:
    server = fault_server()
    later = datetime.now(UTC) + timedelta(seconds=30)
    server.script("GET", "/x", Respond(429, headers={"Retry-After": format_datetime(later, usegmt=True)}))

    assert make_client(server.base_url, sleep).request("GET", "/x").status == 200

    [wait] = sleep.waits
    assert 27.0 < wait <= 30.0  # HTTP dates have whole seconds, and the request took a moment
    assert len(server.requests) == 2


def test_a_503_waits_its_retry_after_seconds_then_succeeds(fault_server: StartServer, sleep: FakeSleep) -> None:
    server = fault_server()
    server.script("GET", "/x", Respond(503, {"message": "maintenance"}, headers={"Retry-After": "3"}))

    assert make_client(server.base_url, sleep).request("GET", "/x").status == 200

    assert sleep.waits == [3.0]
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_after_at_the_cap_is_waited_out(fault_server: StartServer, sleep: FakeSleep, status: int) -> None:
    server = fault_server()
    server.script("GET", "/x", Respond(status, headers={"Retry-After": "7.5"}))

    make_client(server.base_url, sleep, max_retry_after_seconds=7.5).request("GET", "/x")

    assert sleep.waits == [7.5]


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_after_beyond_the_cap_is_left_for_the_next_run(fault_server: StartServer, sleep: FakeSleep,
                                                               status: int) -> None:
    server = fault_server()
    server.script("GET", "/x", Respond(status, {"message": "later"}, headers={"Retry-After": "3600"}))

    with pytest.raises(DeliveryError) as raised:
        make_client(server.base_url, sleep, max_retry_after_seconds=7.5).request("GET", "/x")

    error = raised.value
    assert (error.status, error.retryable, error.body) == (status, True, {"message": "later"})
    assert "Retry-After 3600 s, longer than the 7.5 s this client waits" in str(error)
    assert len(server.requests) == 1  # not sent early, only to be refused again
    assert sleep.waits == []


def test_a_429_without_retry_after_waits_the_backoff(fault_server: StartServer, sleep: FakeSleep,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)  # tenacity's full jitter draws with it
    server = fault_server()
    server.script("GET", "/x", Respond(429), Respond(429, headers={"Retry-After": "soon"}))

    make_client(server.base_url, sleep, backoff_seconds=0.25).request("GET", "/x")

    assert sleep.waits == [0.25, 0.5]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2", 2.0), (" 0 ", 0.0), ("1.5", 1.5), ("-4", 0.0), ("Sun, 22 Nov 2026 12:00:10 GMT", 10.0),
     ("Sun, 22 Nov 2026 11:00:00 GMT", 0.0), ("soon", None), ("", None), (None, None)],
)
def test_retry_after_reads_seconds_and_http_dates(value: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value, now=datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)) == expected


# 5xx, dropped connections and timeouts.


def test_503_twice_then_200_backs_off_exponentially(fault_server: StartServer, sleep: FakeSleep,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)  # tenacity's full jitter draws with it
    server = fault_server()
    server.script("POST", COMPANIES_CREATE, Respond(503), Respond(503, {"message": "busy"}))

    response = make_client(server.base_url, sleep).request("POST", COMPANIES_CREATE, json_body=company_batch())

    assert response.status == 200
    assert sleep.waits == [0.01, 0.02]
    assert len(server.requests) == 3


def test_backoff_has_full_jitter_under_its_cap(fault_server: StartServer, sleep: FakeSleep) -> None:
    server = fault_server()
    server.script("GET", "/x", *[Respond(500)] * 6)

    with pytest.raises(DeliveryError):
        make_client(server.base_url, sleep, max_attempts=6, backoff_seconds=1.0, max_backoff_seconds=3.0).request(
            "GET", "/x")

    caps = [1.0, 2.0, 3.0, 3.0, 3.0]
    assert len(sleep.waits) == len(caps)
    assert all(0.0 <= wait <= cap for wait, cap in zip(sleep.waits, caps, strict=True))
    assert len(set(sleep.waits)) > 1  # random, not a fixed schedule


def test_a_dropped_connection_is_retried(fault_server: StartServer, sleep: FakeSleep) -> None:
    server = fault_server()
    server.script("POST", COMPANIES_CREATE, Drop(), Respond(201, {"status": "COMPLETE"}))

    response = make_client(server.base_url, sleep).request("POST", COMPANIES_CREATE, json_body=company_batch())

    assert (response.status, response.body) == (201, {"status": "COMPLETE"})
    assert len(server.requests) == 2
    assert len(sleep.waits) == 1


def test_a_timeout_is_retried(fault_server: StartServer, sleep: FakeSleep) -> None:
    server = fault_server()
    server.script("GET", "/slow", Delay(2.0, then=Respond(200, {"late": True})), Respond(200, {"late": False}))

    response = make_client(server.base_url, sleep, timeout=0.2).request("GET", "/slow")

    assert response.body == {"late": False}
    assert len(server.requests) == 2
    assert len(sleep.waits) == 1


# Requests that must not be sent twice (idempotent=False).


def test_a_non_idempotent_request_answered_5xx_is_not_resent(fault_server: StartServer, sleep: FakeSleep) -> None:
    server = fault_server()
    server.script("POST", COMPANIES_CREATE, Respond(503, {"message": "busy"}, headers={"Retry-After": "1"}))

    with pytest.raises(DeliveryError) as raised:
        make_client(server.base_url, sleep).request("POST", COMPANIES_CREATE, json_body=company_batch(),
                                                    idempotent=False)

    error = raised.value
    assert (error.status, error.retryable, error.body) == (503, True, {"message": "busy"})
    assert str(error).startswith(f"POST {COMPANIES_CREATE} failed with 503 Service Unavailable, possibly after ")
    assert len(server.requests) == 1
    assert sleep.waits == []


def test_a_non_idempotent_request_answered_429_is_retried_after_its_retry_after(fault_server: StartServer,
                                                                               sleep: FakeSleep) -> None:
    server = fault_server()
    server.script("POST", COMPANIES_CREATE, Respond(429, {"message": "slow down"}, headers={"Retry-After": "2"}))

    response = make_client(server.base_url, sleep).request("POST", COMPANIES_CREATE, json_body=company_batch(),
                                                           idempotent=False)

    assert response.status == 200
    assert sleep.waits == [2.0]
    assert len(server.requests) == 2


@pytest.mark.parametrize("fault", [Drop(), Delay(2.0, then=Respond(201, {"status": "COMPLETE"}))],
                         ids=["dropped", "read-timeout"])
def test_a_non_idempotent_request_that_was_sent_is_not_resent(fault_server: StartServer, sleep: FakeSleep,
                                                              fault: Drop | Delay) -> None:
    server = fault_server()
    server.script("POST", COMPANIES_CREATE, fault)

    with pytest.raises(DeliveryError) as raised:
        make_client(server.base_url, sleep, timeout=0.2).request("POST", COMPANIES_CREATE, json_body=company_batch(),
                                                                 idempotent=False)

    assert (raised.value.status, raised.value.retryable) == (None, True)
    assert "it is not sent again" in str(raised.value)
    assert len(server.requests) == 1
    assert sleep.waits == []


def test_a_non_idempotent_request_is_retried_when_the_connection_never_opened(sleep: FakeSleep) -> None:
    client = make_client(f"http://127.0.0.1:{closed_port()}", sleep, max_attempts=2)

    with pytest.raises(DeliveryError) as raised:
        client.request("POST", COMPANIES_CREATE, json_body=company_batch(), idempotent=False)

    assert "failed after 2 attempts; the last answer was ConnectError" in str(raised.value)
    assert raised.value.retryable
    assert len(sleep.waits) == 1


def test_a_non_idempotent_request_is_retried_after_a_connect_timeout(fault_server: StartServer,
                                                                     sleep: FakeSleep) -> None:
    server = fault_server()

    class ConnectTimesOutOnce(httpx.HTTPTransport):
        calls = 0

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            self.calls += 1
            if self.calls == 1:
                raise httpx.ConnectTimeout("connect timeout=5.0", request=request)
            return super().handle_request(request)

    transport = ConnectTimesOutOnce()
    response = make_client(server.base_url, sleep, transport=transport).request(
        "POST", COMPANIES_CREATE, json_body=company_batch(), idempotent=False)

    assert response.status == 200
    assert (transport.calls, len(server.requests), len(sleep.waits)) == (2, 1, 1)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.ConnectTimeout("connect timeout"), True),
        (httpx.ConnectError("[Errno 111] Connection refused"), True),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), True),
        (httpx.PoolTimeout("no connection free"), True),
        (httpx.ReadError("[Errno 104] Connection reset by peer"), False),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), False),
        (httpx.ReadTimeout("read timeout"), False),
        (httpx.RemoteProtocolError("peer closed connection without sending complete message body"), False),
        (httpx.WriteError("[Errno 32] Broken pipe"), False),
        (httpx.ProxyError("502 Bad Gateway from the proxy"), False),
    ],
    ids=["connect-timeout", "refused", "tls-handshake", "pool-timeout", "reset-after-sending", "closed-after-sending",
         "read-timeout", "cut-body", "cut-request", "proxy"],
)
def test_never_reached_server_tells_a_failed_connect_from_a_lost_answer(error: Exception, expected: bool) -> None:
    assert never_reached_server(error) is expected


# Refusals and exhaustion.


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (400, {"status": "error", "message": "Property values were not valid: [{\"name\":\"mrr\"}]",
               "category": "VALIDATION_ERROR"}, 'Property values were not valid: [{"name":"mrr"}]'),
        (400, {"errors": [{"status": 400, "code": "invalid", "title": "Invalid input.",
                           "detail": "The 'metric' field is required."}]}, "The 'metric' field is required."),
        (404, "  Not\n Found  ", "Not Found"),
    ],
)
def test_a_4xx_raises_at_once_with_the_vendors_message(fault_server: StartServer, sleep: FakeSleep, status: int,
                                                       body: object, message: str) -> None:
    server = fault_server()
    server.script("POST", COMPANIES_CREATE, Respond(status, body))

    with pytest.raises(DeliveryError) as raised:
        make_client(server.base_url, sleep).request("POST", COMPANIES_CREATE, json_body=company_batch())

    error = raised.value
    assert (error.status, error.retryable) == (status, False)
    assert message in str(error)
    assert str(error).startswith(f"POST {COMPANIES_CREATE} was rejected with {status}: ")
    assert error.body == (body if isinstance(body, dict) else None)
    assert len(server.requests) == 1
    assert sleep.waits == []


def test_a_long_vendor_message_is_trimmed(fault_server: StartServer, sleep: FakeSleep) -> None:
    server = fault_server()
    server.script("GET", "/x", Respond(422, {"message": "x" * 5000}))

    with pytest.raises(DeliveryError) as raised:
        make_client(server.base_url, sleep).request("GET", "/x")

    assert len(str(raised.value)) < 400


def test_exhausted_attempts_raise_a_retryable_error(fault_server: StartServer, sleep: FakeSleep) -> None:
    server = fault_server()
    server.script("PATCH", "/crm", *[Respond(503, {"message": "down"})] * 3)

    with pytest.raises(DeliveryError) as raised:
        make_client(server.base_url, sleep, max_attempts=3).request("PATCH", "/crm/v3/x", json_body={})

    error = raised.value
    assert (error.status, error.retryable, error.body) == (503, True, {"message": "down"})
    assert str(error) == "PATCH /crm/v3/x failed after 3 attempts; the last answer was 503 Service Unavailable."
    assert len(server.requests) == 3
    assert len(sleep.waits) == 2  # no wait after the last attempt


def test_exhausted_attempts_on_a_refused_connection_name_the_error(sleep: FakeSleep) -> None:
    client = make_client(f"http://127.0.0.1:{closed_port()}", sleep, max_attempts=2)

    with pytest.raises(DeliveryError) as raised:
        client.request("GET", "/x")

    assert (raised.value.status, raised.value.retryable) == (None, True)
    assert "GET /x failed after 2 attempts; the last answer was ConnectError" in str(raised.value)
    assert len(sleep.waits) == 1


# Secrets.


def test_the_token_never_leaks_into_errors_reprs_or_logs(fault_server: StartServer, sleep: FakeSleep,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    server = fault_server()
    server.script("POST", "/a", Respond(401, {"message": "Authentication credentials not found."}))
    server.script("POST", "/b", Respond(503), Drop(), Respond(429, headers={"Retry-After": "1"}))
    client = make_client(server.base_url, sleep, max_attempts=3, secret_headers=("Authorization", "revision"))
    caplog.set_level(logging.DEBUG)

    errors = []
    for path in ("/a", "/b"):
        with pytest.raises(DeliveryError) as raised:
            client.request("POST", path, json_body={"k": "v"})
        errors.append(raised.value)

    assert [error.status for error in errors] == [401, 429]
    assert len(server.requests) == 4
    assert server.requests[0].header("Authorization") == f"Bearer {TOKEN}"  # it was sent, so it could leak
    visible = [str(error) for error in errors] + [repr(error) for error in errors] + [repr(client), caplog.text]
    for text in visible:
        assert TOKEN not in text
        assert "2026-07-15" not in text  # a header named secret is hidden too
    assert repr(client).count(http.REDACTED) == 2


def test_each_retry_is_logged_with_method_path_status_and_wait(fault_server: StartServer, sleep: FakeSleep,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    server = fault_server()
    server.script("PUT", "/y", Respond(429, headers={"Retry-After": "3"}), Respond(502))
    caplog.set_level(logging.INFO, logger=http.LOGGER_NAME)

    make_client(server.base_url, sleep).request("PUT", "/y", json_body=[1])

    retries = [record.getMessage() for record in caplog.records if record.name == http.LOGGER_NAME]
    assert len(retries) == 2
    assert retries[0] == "PUT /y: 429 Too Many Requests; retrying in 3.00 s (attempt 2 of 4)"
    assert retries[1].startswith("PUT /y: 502 Bad Gateway; retrying in ")
    assert all(TOKEN not in message for message in retries)


# The fault server's own promises.


def test_a_handler_answers_every_unscripted_match_from_the_request(fault_server: StartServer,
                                                                   sleep: FakeSleep) -> None:
    def partial_batch(request: RecordedRequest) -> Respond:
        inputs = request.json["inputs"]
        errors = [{"message": "bad domain", "context": {"index": [str(i)]}}
                  for i, row in enumerate(inputs) if not row["properties"]["domain"]]
        return Respond(207 if errors else 201, {"results": [], "numErrors": len(errors), "errors": errors})

    server = fault_server()
    server.handler("POST", COMPANIES_CREATE, partial_batch)
    server.script("POST", COMPANIES_CREATE, Respond(500))
    client = make_client(server.base_url, sleep)
    batch = {"inputs": [company_batch()["inputs"][0], company_batch(domain="")["inputs"][0]]}

    first = client.request("POST", COMPANIES_CREATE, json_body=batch, accept_statuses=[207])
    second = client.request("POST", COMPANIES_CREATE, json_body=company_batch())

    assert (first.status, first.body["numErrors"], first.body["errors"][0]["context"]) == (207, 1, {"index": ["1"]})
    assert second.status == 201
    assert len(server.requests) == 3  # the scripted 500 came first, then the handler twice
    assert server.pending() == 0


def test_scripts_match_method_and_path_prefix_in_order(fault_server: StartServer, sleep: FakeSleep) -> None:
    server = fault_server()
    server.script("GET", "/a", Respond(201), Respond(202))
    server.script("POST", "/a", Respond(203))
    client = make_client(server.base_url, sleep)

    statuses = [client.request(method, path).status
                for method, path in [("POST", "/a/1"), ("GET", "/b"), ("GET", "/a/2"), ("GET", "/a"), ("GET", "/a")]]

    assert statuses == [203, 200, 201, 202, 200]


# Prism: the vendor's own schema, through the fault server.


def test_prism_accepts_a_valid_hubspot_batch_and_rejects_bad_ones(hubspot_mock: str, fault_server: StartServer,
                                                                   sleep: FakeSleep) -> None:
    server = fault_server(upstream=hubspot_mock)
    client = make_client(server.base_url, sleep)
    anonymous = JsonHttpClient(server.base_url, {}, sleep=sleep, backoff_seconds=0.01)

    created = client.request("POST", COMPANIES_CREATE, json_body=company_batch(numberofemployees="12"))
    with pytest.raises(DeliveryError) as invalid:
        client.request("POST", COMPANIES_CREATE, json_body=company_batch(numberofemployees=12))
    with pytest.raises(DeliveryError) as unauthorised:
        anonymous.request("POST", COMPANIES_CREATE, json_body=company_batch())

    assert created.status == 201
    assert created.body["status"] in {"PENDING", "PROCESSING", "CANCELED", "COMPLETE"}
    assert (invalid.value.status, invalid.value.retryable) == (422, False)
    assert (unauthorised.value.status, unauthorised.value.retryable) == (401, False)
    assert len(server.requests) == 3  # validation errors are not retried


def test_faults_then_prism_compose(hubspot_mock: str, fault_server: StartServer, sleep: FakeSleep) -> None:
    server = fault_server(upstream=hubspot_mock)
    server.script("POST", COMPANIES_CREATE, Respond(429, headers={"Retry-After": "1"}), Drop(), Respond(502))

    response = make_client(server.base_url, sleep).request("POST", COMPANIES_CREATE, json_body=company_batch())

    assert response.status == 201
    assert len(server.requests) == 4
    assert sleep.waits[0] == 1.0
    assert len(sleep.waits) == 3


def test_prism_serves_klaviyo_events_with_its_headers(klaviyo_mock: str, sleep: FakeSleep) -> None:
    event = {"data": {"type": "event", "attributes": {
        "properties": {"mrr_lift": "12.50"}, "unique_id": "upsell-42-2026-11-22",
        "metric": {"data": {"type": "metric", "attributes": {"name": "Upsell candidate"}}},
        "profile": {"data": {"type": "profile", "attributes": {"email": "buyer@acme.example"}}}}}}
    headers = {"Authorization": f"Klaviyo-API-Key {TOKEN}", "revision": "2026-07-15"}
    client = JsonHttpClient(klaviyo_mock, headers, sleep=sleep)
    without_revision = JsonHttpClient(klaviyo_mock, {"Authorization": headers["Authorization"]}, sleep=sleep)

    accepted = client.request("POST", "/api/events", json_body=event, content_type="application/vnd.api+json")
    with pytest.raises(DeliveryError) as missing:
        without_revision.request("POST", "/api/events", json_body=event, content_type="application/vnd.api+json")

    assert accepted.status == 202
    assert (missing.value.status, missing.value.retryable) == (422, False)


def test_prism_mock_says_to_run_make_tools_when_it_is_missing(tmp_path: Path) -> None:
    with pytest.raises(PrismNotInstalledError, match=r"run `make tools`"), \
            prism_mock(tmp_path / "spec.json", executable=tmp_path / "prism"):
        pass


def test_prism_mock_reports_the_log_when_prism_cannot_start(tmp_path: Path) -> None:
    missing_spec = tmp_path / "no-such-spec.json"

    with pytest.raises(RuntimeError, match=r"(?s)Prism exited with code .*its log ends:\n.+"), \
            prism_mock(missing_spec, startup_timeout=30):
        pass


def test_a_process_group_that_ignores_sigterm_is_killed() -> None:
    script = 'trap "" TERM; sleep 60 & echo $!; wait'
    process = subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE, start_new_session=True)
    assert process.stdout is not None
    with process.stdout:
        child = int(process.stdout.readline())

    started = time.monotonic()
    stop_process_group(process, grace=0.3)

    assert process.returncode == -signal.SIGKILL
    assert 0.3 <= time.monotonic() - started < 5.0
    assert not is_alive(child)  # the grandchild went with the group


def test_recorded_json_is_parsed(fault_server: StartServer, sleep: FakeSleep) -> None:
    server = fault_server()

    make_client(server.base_url, sleep).request("POST", "/z", json_body={"a": [1, 2]})

    assert server.requests[0].json == {"a": [1, 2]}
    assert json.loads(server.requests[0].body) == {"a": [1, 2]}
