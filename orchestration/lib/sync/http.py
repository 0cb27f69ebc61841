"""The retrying JSON HTTP client every destination sends through: rate limits, 5xx and dropped connections.

httpx sends (one pooled client, timeouts, transport errors) and tenacity decides when to send again (stop after
`max_attempts`, wait, log), under one policy so that HubSpot and Klaviyo behave alike:

- 2xx, and any status the caller accepts (a 409 it can handle, say), is returned;
- 429 and 503 wait for `Retry-After` (seconds or an HTTP date), or the backoff when there is none; a
  `Retry-After` longer than `max_retry_after_seconds` is not waited out: it raises a retryable `DeliveryError`
  naming the wait, and the next run sends again;
- other 5xx, refused or reset connections and timeouts wait an exponential backoff with full jitter;
- any other 4xx raises a non-retryable `DeliveryError` at once, with the vendor's own message (`vendor_message`).

Most sends are idempotent by design (upsert by external id, events by `unique_id`), so retrying a POST whose
answer was lost cannot duplicate a record. A send that is not (HubSpot's `batch/create`) goes with
`idempotent=False`: it is sent again only when it cannot have been processed, that is after a 429 or a connection
that never opened (see `never_reached_server`); a 5xx, a timeout waiting for the answer or a connection lost after
sending raises a retryable `DeliveryError` at once, and the caller finds out on its next attempt what the lost
request did. Header values never reach a message, a repr or a log line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, cast

import httpx
import tenacity
from tenacity.wait import wait_base

from orchestration.lib.names import LOGGER_ROOT

LOGGER_NAME = f"{LOGGER_ROOT}.sync.http"
REDACTED = "<redacted>"
MAX_MESSAGE_CHARS = 300

logger = logging.getLogger(LOGGER_NAME)

# What a lost connection looks like through httpx: refused, reset, cut mid-body, or too slow. Not the other
# transport errors (an unsupported scheme, a malformed request): those fail the same way every time.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)
# The transport errors raised before one byte of the request left (see `never_reached_server`).
NEVER_SENT_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Statuses whose `Retry-After` says how long to wait (RFC 9110 defines it for 503; vendors send it with 429).
RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class HttpResponse:
    """A vendor's answer: status, headers (case-insensitive), the parsed JSON body (or None) and the raw text."""

    status: int
    headers: Mapping[str, str]
    body: Any
    text: str


class DeliveryError(Exception):
    """A request the vendor refused (`retryable=False`) or that still failed when the attempts ran out."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.retryable = retryable


class AttemptFailed(Exception):
    """One attempt failed for now, and another may succeed: the only exception the retry policy retries.

    `request` is `METHOD path`, `description` what happened (`503 Service Unavailable`, `ReadTimeout: …`), and
    `retry_after` the seconds a 429 or 503 asked for, if it did.
    """

    def __init__(self, request: str, description: str, *, status: int | None = None, body: Any = None,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{request}: {description}")
        self.request = request
        self.description = description
        self.status = status
        self.body = body
        self.retry_after = retry_after

    def exhausted(self, attempts: int) -> DeliveryError:
        """The retryable error once `attempts` attempts all failed, this one last."""
        return DeliveryError(f"{self.request} failed after {attempts} attempts; the last answer was "
                             f"{self.description}.", status=self.status, body=self.body, retryable=True)


class RetryAfterWait(wait_base):
    """Wait what a 429 or 503 asked for in `Retry-After`, else `backoff`; refuse a `Retry-After` beyond `cap`.

    Refusing raises a retryable DeliveryError instead of waiting: sleeping the cap and sending early would only be
    refused again, so the request is left for the next run. (tenacity computes the wait before it looks at the
    attempts left, so the last attempt's answer is judged the same way.)
    """

    def __init__(self, backoff: wait_base, cap: float) -> None:
        self.backoff = backoff
        self.cap = cap

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        failure = failure_of(retry_state)
        if failure.retry_after is None:
            return self.backoff(retry_state)
        if failure.retry_after > self.cap:
            raise DeliveryError(
                f"{failure.request} was answered {failure.description} with Retry-After {failure.retry_after:.0f} s, "
                f"longer than the {self.cap:g} s this client waits; it is left for the next run.",
                status=failure.status, body=failure.body, retryable=True,
            ) from failure
        return failure.retry_after


class JsonHttpClient:
    """A JSON client for one vendor's base URL, with fixed headers, retries and backoff; secrets stay out of sight.

    `sleep` is what waits between attempts (tests pass a recorder), `transport` the httpx transport to send through
    (tests pass one that records or fails on cue; the default is httpx's, which never retries by itself).
    """

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        secret_headers: Iterable[str] = ("Authorization",),
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        max_retry_after_seconds: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}.")
        self.base_url = base_url.rstrip("/") + "/"
        self._headers = dict(headers)
        self._secret_headers = frozenset(name.lower() for name in secret_headers)
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_retry_after_seconds = max_retry_after_seconds
        self._sleep = sleep
        self._http = httpx.Client(headers=self._headers, timeout=httpx.Timeout(timeout), transport=transport)

    def __repr__(self) -> str:
        return f"JsonHttpClient(base_url={self.base_url!r}, headers={self.redacted_headers()!r})"

    def redacted_headers(self) -> dict[str, str]:
        """The fixed headers with every secret header's value replaced, safe to print."""
        return {name: REDACTED if name.lower() in self._secret_headers else value
                for name, value in self._headers.items()}

    def secrets(self) -> list[str]:
        """The secret headers' values and the bare credential after their scheme (`Bearer <token>`), longest first."""
        values = [value for name, value in self._headers.items() if name.lower() in self._secret_headers and value]
        bare = [value.split()[-1] for value in values if len(value.split()) > 1]
        return sorted({*values, *bare}, key=len, reverse=True)

    def scrubbed(self, response: HttpResponse) -> HttpResponse:
        """The answer with every secret the vendor echoed back replaced (some APIs quote the credential in an error
        message), so that no reason, log line, ledger row or exception can carry it further."""
        secrets = self.secrets()
        if not any(secret in response.text for secret in secrets):
            return response
        return HttpResponse(status=response.status, headers=response.headers,
                            body=without_secrets(response.body, secrets), text=without_secrets(response.text, secrets))

    def close(self) -> None:
        """Close the connection pool (and the transport)."""
        self._http.close()

    def url(self, path: str) -> str:
        """`path` joined to the base URL, whether or not either has a slash at the seam."""
        return self.base_url + path.lstrip("/")

    def retry_policy(self) -> tenacity.Retrying:
        """Retry `AttemptFailed` only, up to `max_attempts` in all, waiting `RetryAfterWait` over full-jitter backoff
        (uniform between 0 and min(max_backoff_seconds, backoff_seconds * 2**(attempt - 1))); log each retry, and
        raise the retryable DeliveryError of the last failure when the attempts run out."""
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(AttemptFailed),
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=RetryAfterWait(tenacity.wait_random_exponential(multiplier=self.backoff_seconds,
                                                                 max=self.max_backoff_seconds),
                                cap=self.max_retry_after_seconds),
            sleep=lambda seconds: self._sleep(float(seconds)),
            before_sleep=self._log_retry,
            retry_error_callback=self._raise_exhausted,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        content_type: str = "application/json",
        accept_statuses: Iterable[int] = (),
        idempotent: bool = True,
    ) -> HttpResponse:
        """Send one request, retrying what is transient; return the answer or raise `DeliveryError`.

        With `idempotent=False` (a create the vendor would make twice), only a 429 and a connection that never
        opened are retried; any other transient failure raises a retryable `DeliveryError` without resending.
        """
        method = method.upper()
        content = encode_json(json_body) if json_body is not None else None
        headers = {"Content-Type": content_type} if content is not None else {}
        return self.retry_policy()(self._attempt, method, path, content, headers, params, frozenset(accept_statuses),
                                   idempotent)

    def _attempt(self, method: str, path: str, content: bytes | None, headers: Mapping[str, str],
                 params: Mapping[str, str] | None, accepted: frozenset[int], idempotent: bool) -> HttpResponse:
        """One send: the response when it is final; raises `AttemptFailed` to retry, or `DeliveryError`."""
        request = f"{method} {path}"
        try:
            raw = self._http.request(method, self.url(path), content=content, headers=headers, params=params)
        except TRANSIENT_ERRORS as error:
            if not idempotent and not never_reached_server(error):
                raise not_resent(request, describe_error(error)) from error
            raise AttemptFailed(request, describe_error(error)) from error
        except (httpx.HTTPError, httpx.InvalidURL) as error:  # e.g. a base URL without http:// or https://
            raise DeliveryError(f"{request} failed with {describe_error(error)}, which no retry mends.") from error
        response = self.scrubbed(to_response(raw))
        if 200 <= response.status < 300 or response.status in accepted:
            return response
        if not is_retryable_status(response.status):
            raise rejected(request, response)
        status = status_line(response.status, raw.reason_phrase)
        if not idempotent and response.status != 429:  # a 429 is refused before processing; a 5xx may come after
            raise not_resent(request, status, response)
        raise AttemptFailed(request, status, status=response.status, body=response.body,
                            retry_after=requested_wait(response))

    def _log_retry(self, retry_state: tenacity.RetryCallState) -> None:
        logger.warning("%s; retrying in %.2f s (attempt %d of %d)", failure_of(retry_state),
                       retry_state.upcoming_sleep, retry_state.attempt_number + 1, self.max_attempts)

    def _raise_exhausted(self, retry_state: tenacity.RetryCallState) -> HttpResponse:
        failure = failure_of(retry_state)
        raise failure.exhausted(self.max_attempts) from failure


def failure_of(retry_state: tenacity.RetryCallState) -> AttemptFailed:
    """The failure of the attempt just made (the policy retries, waits after and stops on `AttemptFailed` only)."""
    return cast(AttemptFailed, cast(tenacity.Future, retry_state.outcome).exception())


def without_secrets(value: Any, secrets: Iterable[str]) -> Any:
    """`value` (text, or JSON's lists and objects of it) with each of `secrets` replaced by REDACTED."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, list):
        return [without_secrets(item, secrets) for item in value]
    if isinstance(value, dict):
        return {without_secrets(key, secrets): without_secrets(item, secrets) for key, item in value.items()}
    return value


def encode_json(value: Any) -> bytes:
    """The compact UTF-8 JSON we send: no spaces, non-ASCII as is, dates and decimals through str()."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def to_response(raw: httpx.Response) -> HttpResponse:
    """An `HttpResponse` from an httpx response, with the body parsed when it is JSON (UTF-8 unless declared)."""
    text = raw.text
    return HttpResponse(status=raw.status_code, headers=raw.headers, body=parse_json(text), text=text)


def parse_json(text: str) -> Any:
    """The JSON value in `text`, or None when it is empty or not JSON."""
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def requested_wait(response: HttpResponse) -> float | None:
    """The seconds a 429 or 503 asks us to wait in `Retry-After`, or None (another status, no usable header)."""
    if response.status not in RETRY_AFTER_STATUSES:
        return None
    return retry_after_seconds(response.headers.get("Retry-After"))


def is_retryable_status(status: int) -> bool:
    """Whether a non-2xx status is worth another attempt: rate limited or the vendor's own failure."""
    return status == 429 or status >= 500


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date; never negative), None if unusable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# --- the vendor's own words -----------------------------------------------------------------------------------------


def message_of(entry: Mapping[str, Any]) -> str | None:
    """The human sentence of one error object: its `message`, `error_description`, `detail` or `title`."""
    for key in ("message", "error_description", "detail", "title"):
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def vendor_message(body: Any, describe: Callable[[Mapping[str, Any]], str | None] = message_of) -> str | None:
    """The vendor's own explanation in a JSON error body, for the shapes HubSpot, Klaviyo and OAuth servers use.

    `describe` reads one error object (the body itself, else each of its `errors`, joined with "; ", else its
    `error`); a vendor passes its own to add what it knows, such as HubSpot's category or Klaviyo's JSON pointer.
    A body that is a JSON string is its own message. None when there is none.
    """
    if isinstance(body, str):
        return body if body.strip() else None
    if not isinstance(body, Mapping):
        return None
    own = describe(body)
    if own:
        return own
    errors = body.get("errors")
    if isinstance(errors, list):
        parts = [vendor_message(error, describe) for error in errors]
        joined = "; ".join(part for part in parts if part)
        if joined:
            return joined
    error = body.get("error")
    return vendor_message(error, describe) if error is not None else None


def trim(text: str) -> str:
    """One line of at most MAX_MESSAGE_CHARS characters."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_MESSAGE_CHARS else line[: MAX_MESSAGE_CHARS - 1] + "…"


def rejected(request: str, response: HttpResponse) -> DeliveryError:
    """The non-retryable error for a 4xx the vendor refused, carrying its message and body."""
    message = (trim(vendor_message(response.body) or response.text) or "no message").rstrip(".")
    return DeliveryError(f"{request} was rejected with {response.status}: {message}.",
                         status=response.status, body=response.body, retryable=False)


def not_resent(request: str, what: str, response: HttpResponse | None = None) -> DeliveryError:
    """The retryable error for a non-idempotent request that failed after it may have reached the vendor."""
    return DeliveryError(
        f"{request} failed with {what}, possibly after the vendor processed it; it is not sent again "
        "(that could duplicate it) and is left for the next run.",
        status=response.status if response else None, body=response.body if response else None, retryable=True,
    )


def never_reached_server(error: Exception) -> bool:
    """Whether a transport error from httpx happened before the request could reach the server.

    - True: `ConnectError` (refused, unreachable, DNS failure, a failed TLS handshake), `ConnectTimeout` and
      `PoolTimeout` (no free connection in time). No connection carried the request, so not one byte was sent.
    - False: `ReadTimeout` (sent, no answer in time), `ReadError` and `RemoteProtocolError` (the server reset or
      closed the connection after we wrote, or cut its answer), `WriteError` and `WriteTimeout` (part of it went
      out), and a `ProxyError`. The server may have processed the request.

    What it cannot tell: a pooled keep-alive connection that the server closed just as we reused it fails like a
    connection lost after the server read the request. It counts as possibly received (False): a request wrongly
    held back waits for the next run, a request wrongly sent again may be made twice.
    """
    return isinstance(error, NEVER_SENT_ERRORS)


def status_line(status: int, reason: str | None) -> str:
    """`503 Service Unavailable`, or the bare status when there is no reason phrase."""
    return f"{status} {reason}".strip() if reason else str(status)


def causes(error: BaseException, depth: int = 10) -> list[BaseException]:
    """`error` and the errors it was raised from, outermost first (httpx raises from httpcore, from the OSError)."""
    chain = [error]
    while len(chain) <= depth:
        inner = chain[-1].__cause__
        if inner is None or any(inner is seen for seen in chain):
            break
        chain.append(inner)
    return chain


def describe_error(error: Exception) -> str:
    """A transport error as one short phrase: its type and the innermost cause's message (no headers in it)."""
    detail = next((trim(str(cause)) for cause in reversed(causes(error)) if str(cause).strip()), "")
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__
