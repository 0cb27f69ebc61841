"""The retrying JSON HTTP client every destination sends through: rate limits, 5xx and dropped connections.

One place decides what is retried and how long to wait, so HubSpot and Klaviyo behave alike:

- 2xx, and any status the caller accepts (a 409 it can handle, say), is returned;
- 429 and 503 wait for `Retry-After` (seconds or an HTTP date), or the backoff when there is none; a
  `Retry-After` longer than `max_retry_after_seconds` is not waited out: it raises a retryable `DeliveryError`
  naming the wait, and the next run sends again;
- other 5xx, refused or reset connections and timeouts wait an exponential backoff with full jitter;
- any other 4xx raises a non-retryable `DeliveryError` at once, with the vendor's own message.

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
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

LOGGER_NAME = "expansion.sync.http"
REDACTED = "<redacted>"
MAX_MESSAGE_CHARS = 300

logger = logging.getLogger(LOGGER_NAME)

# What a lost connection looks like through requests: refused, reset, cut mid-body, or too slow.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
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


@dataclass(frozen=True)
class Failure:
    """A transient failure of one attempt: what happened, the status and body if any, and how long to wait."""

    description: str
    status: int | None = None
    body: Any = None
    wait: float = 0.0


class JsonHttpClient:
    """A JSON client for one vendor's base URL, with fixed headers, retries and backoff; secrets stay out of sight."""

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
        session: requests.Session | None = None,
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
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()

    def __repr__(self) -> str:
        return f"JsonHttpClient(base_url={self.base_url!r}, headers={self.redacted_headers()!r})"

    def redacted_headers(self) -> dict[str, str]:
        """The fixed headers with every secret header's value replaced, safe to print."""
        return {name: REDACTED if name.lower() in self._secret_headers else value
                for name, value in self._headers.items()}

    def close(self) -> None:
        """Close the session if this client created it."""
        if self._owns_session:
            self._session.close()

    def url(self, path: str) -> str:
        """`path` joined to the base URL, whether or not either has a slash at the seam."""
        return self.base_url + path.lstrip("/")

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
        accepted = frozenset(accept_statuses)
        headers = dict(self._headers)
        data = None
        if json_body is not None:
            data = encode_json(json_body)
            headers["Content-Type"] = content_type
        failure = Failure("no answer")
        for attempt in range(self.max_attempts):
            outcome = self._attempt(method, path, data, headers, params, accepted, attempt, idempotent)
            if isinstance(outcome, HttpResponse):
                return outcome
            failure = outcome
            if attempt + 1 < self.max_attempts:
                logger.warning("%s %s: %s; retrying in %.2f s (attempt %d of %d)", method, path, failure.description,
                               failure.wait, attempt + 2, self.max_attempts)
                self._sleep(failure.wait)
        raise DeliveryError(
            f"{method} {path} failed after {self.max_attempts} attempts; the last answer was {failure.description}.",
            status=failure.status, body=failure.body, retryable=True,
        )

    def _attempt(self, method: str, path: str, data: bytes | None, headers: Mapping[str, str],
                 params: Mapping[str, str] | None, accepted: frozenset[int], attempt: int,
                 idempotent: bool = True) -> HttpResponse | Failure:
        """One send: the response when it is final, a `Failure` to retry, or a raised `DeliveryError`."""
        try:
            raw = self._session.request(method, self.url(path), data=data, headers=headers, params=params,
                                        timeout=self.timeout)
        except TRANSIENT_ERRORS as error:
            if not idempotent and not never_reached_server(error):
                raise not_resent(method, path, describe_error(error)) from error
            return Failure(describe_error(error), wait=self.backoff(attempt))
        response = to_response(raw)
        if 200 <= response.status < 300 or response.status in accepted:
            return response
        if not is_retryable_status(response.status):
            raise rejected(method, path, response)
        status = status_line(response.status, raw.reason)
        if not idempotent and response.status != 429:  # a 429 is refused before processing; a 5xx may come after
            raise not_resent(method, path, status, response)
        return Failure(status, status=response.status, body=response.body,
                       wait=self.wait_for(method, path, response, attempt, status))

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: uniform between 0 and min(max, base * 2**attempt)."""
        return random.uniform(0.0, min(self.max_backoff_seconds, self.backoff_seconds * 2**attempt))

    def wait_for(self, method: str, path: str, response: HttpResponse, attempt: int, answer: str) -> float:
        """How long to wait before retrying `response`: its Retry-After on a 429 or 503, else the backoff.

        A Retry-After beyond `max_retry_after_seconds` raises a retryable `DeliveryError` instead: sleeping the cap
        and sending early would only be refused again, so the request waits for the next run.
        """
        retry_after = requested_wait(response)
        if retry_after is None:
            return self.backoff(attempt)
        if retry_after > self.max_retry_after_seconds:
            raise DeliveryError(
                f"{method} {path} was answered {answer} with Retry-After {retry_after:.0f} s, longer than the "
                f"{self.max_retry_after_seconds:g} s this client waits; it is left for the next run.",
                status=response.status, body=response.body, retryable=True,
            )
        return retry_after


def encode_json(value: Any) -> bytes:
    """The compact UTF-8 JSON we send: no spaces, non-ASCII as is, dates and decimals through str()."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def to_response(raw: requests.Response) -> HttpResponse:
    """An `HttpResponse` from a requests response, with the body parsed when it is JSON (UTF-8 unless declared)."""
    raw.encoding = raw.encoding or "utf-8"
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


def vendor_message(body: Any, text: str) -> str:
    """The vendor's own explanation from an error body (HubSpot `message`, Klaviyo `errors[].detail`), trimmed."""
    message = message_from_json(body) if body is not None else None
    return trim(message if message else text) or "no message"


def message_from_json(body: Any) -> str | None:
    """The human message in a JSON error body, for the shapes HubSpot, Klaviyo and OAuth servers use."""
    if isinstance(body, str):
        return body
    if not isinstance(body, Mapping):
        return None
    for key in ("message", "error_description", "detail", "title"):
        if isinstance(body.get(key), str) and body[key].strip():
            return body[key]
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        parts = [message_from_json(error) for error in errors]
        return "; ".join(part for part in parts if part) or None
    error = body.get("error")
    return message_from_json(error) if error is not None else None


def trim(text: str) -> str:
    """One line of at most MAX_MESSAGE_CHARS characters."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_MESSAGE_CHARS else line[: MAX_MESSAGE_CHARS - 1] + "…"


def rejected(method: str, path: str, response: HttpResponse) -> DeliveryError:
    """The non-retryable error for a 4xx the vendor refused, carrying its message and body."""
    message = vendor_message(response.body, response.text).rstrip(".")
    return DeliveryError(f"{method} {path} was rejected with {response.status}: {message}.",
                         status=response.status, body=response.body, retryable=False)


def not_resent(method: str, path: str, what: str, response: HttpResponse | None = None) -> DeliveryError:
    """The retryable error for a non-idempotent request that failed after it may have reached the vendor."""
    return DeliveryError(
        f"{method} {path} failed with {what}, possibly after the vendor processed it; it is not sent again "
        "(that could duplicate it) and is left for the next run.",
        status=response.status if response else None, body=response.body if response else None, retryable=True,
    )


def never_reached_server(error: Exception) -> bool:
    """Whether a transport error from requests happened before the request could reach the server.

    What requests (with its default of no urllib3 retries) lets us tell apart:

    - True: `ConnectTimeout`, and a `ConnectionError` caused by urllib3's `NewConnectionError` (refused,
      unreachable, DNS failure). The connection never opened, so not one byte was sent.
    - False: `ReadTimeout` (sent, no answer in time), a `ConnectionError` caused by urllib3's `ProtocolError`
      (the server closed or reset the connection after we wrote: `RemoteDisconnected`, `ConnectionResetError`)
      and `ChunkedEncodingError` (the answer was cut). The server may have processed the request.

    What it cannot: a reset on a reused keep-alive connection that the server had already closed looks like a
    reset after the server read the request, and an SSL or proxy error may come before or after sending. All of
    those count as possibly received (False): a request wrongly held back waits for the next run, a request
    wrongly sent again may be made twice.
    """
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(error, requests.exceptions.SSLError | requests.exceptions.ProxyError):
        return False
    if isinstance(error, requests.ConnectionError):
        return any(isinstance(cause, NewConnectionError) for cause in causes(error))
    return False


def status_line(status: int, reason: str | None) -> str:
    """`503 Service Unavailable`, or the bare status when there is no reason phrase."""
    return f"{status} {reason}".strip() if reason else str(status)


def causes(error: BaseException, depth: int = 10) -> list[BaseException]:
    """`error` and the errors inside it, outermost first: urllib3's `reason`, `__cause__`, or an error among args."""
    chain = [error]
    for _ in range(depth):
        cause = chain[-1]
        inner = getattr(cause, "reason", None) or cause.__cause__ or next(
            (arg for arg in cause.args if isinstance(arg, BaseException)), None)
        if not isinstance(inner, BaseException) or any(inner is seen for seen in chain):
            break
        chain.append(inner)
    return chain


def describe_error(error: Exception) -> str:
    """A transport error as one short phrase: its type and the innermost cause's message (no headers in it)."""
    cause = causes(error)[-1]
    detail = trim(str(cause))
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__
