"""A fault-injecting HTTP server of our own: scripted 429s, 5xx, dropped connections and delays, then the vendor.

Prism validates what we send but never fails, rate-limits or keeps state; this server sits in front of it (or
stands alone) and does those things on cue:

    with FaultServer(upstream=prism_url) as server:
        server.script("POST", "/crm/v3/objects/companies/batch", Respond(429, headers={"Retry-After": "1"}), Drop())
        ...  # the first matching request gets the 429, the second is dropped, the third goes to Prism

Every request is recorded in `server.requests`. It binds 127.0.0.1 on a free port and serves from daemon threads.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger("tests.support.fault_server")

# Headers that describe one hop's connection, not the message: never copied between client and upstream.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
                        "upgrade", "content-length", "host"})
UPSTREAM_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it: method, path with query, headers, raw body and its JSON (or None)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any

    def header(self, name: str) -> str | None:
        """A header's value by case-insensitive name, or None."""
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


@dataclass(frozen=True)
class Respond:
    """Answer with `status`; a dict or list body is sent as JSON, str or bytes as is."""

    status: int
    body: Any = None
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Drop:
    """Close the connection without answering: the client sees a connection error."""


@dataclass(frozen=True)
class Delay:
    """Wait `seconds` (long enough for a client timeout, say), then apply `then`, or answer as if unscripted."""

    seconds: float
    then: Fault | None = None


Fault = Respond | Drop | Delay
Handler = Callable[[RecordedRequest], Fault]


@dataclass
class _Script:
    """Faults for requests matching a method and path prefix, each used once, in order."""

    method: str
    path_prefix: str
    faults: deque[Fault] = field(default_factory=deque)

    def matches(self, request: RecordedRequest) -> bool:
        return request.method == self.method and request.path.startswith(self.path_prefix)


class FaultServer:
    """A local HTTP server that answers from a script of faults, then persistent handlers, then `upstream`."""

    def __init__(self, upstream: str | None = None) -> None:
        self.upstream = upstream.rstrip("/") if upstream else None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._scripts: list[_Script] = []
        self._handlers: list[tuple[str, str, Handler]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FaultServer:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FaultServer(base_url={self.base_url if self._server else None!r}, upstream={self.upstream!r})"

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` of the running server."""
        if self._server is None:
            raise RuntimeError("The fault server is not running: use it as a context manager.")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def start(self) -> None:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fault-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, cut short any Delay in progress and release the port."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def script(self, method: str, path_prefix: str, *faults: Fault) -> None:
        """Queue `faults` for the next requests of `method` whose path starts with `path_prefix`, one each."""
        with self._lock:
            self._scripts.append(_Script(method.upper(), path_prefix, deque(faults)))

    def handler(self, method: str, path_prefix: str, fn: Handler) -> None:
        """Answer every matching request with `fn(request)` once the script has no fault left for it."""
        with self._lock:
            self._handlers.append((method.upper(), path_prefix, fn))

    def pending(self) -> int:
        """How many scripted faults have not been used yet."""
        with self._lock:
            return sum(len(script.faults) for script in self._scripts)

    def record(self, request: RecordedRequest) -> Fault | Handler | None:
        """Record `request` and take what answers it: its next scripted fault, else a handler, else None."""
        with self._lock:
            self._requests.append(request)
            for script in self._scripts:
                if script.faults and script.matches(request):
                    return script.faults.popleft()
            for method, path_prefix, fn in self._handlers:
                if request.method == method and request.path.startswith(path_prefix):
                    return fn
        return None

    def wait(self, seconds: float) -> None:
        """Sleep for a Delay, returning early when the server stops."""
        self._stopping.wait(seconds)


def _handler_class(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to `server` (http.server builds one handler per request)."""

    class FaultHandler(_FaultRequestHandler):
        fault_server = server

    return FaultHandler


class _FaultRequestHandler(BaseHTTPRequestHandler):
    """Reads each request, records it, and answers with the fault, handler, upstream or `200 {}` it is due."""

    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection is closed after this many seconds
    fault_server: FaultServer

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _handle(self) -> None:
        body = self._read_body()
        request = RecordedRequest(self.command, self.path, dict(self.headers.items()), body, _parse_json(body))
        answer = self.fault_server.record(request)
        try:
            if callable(answer):
                answer = answer(request)
            self._apply(answer, request)
        except OSError:
            self.close_connection = True  # the client gave up (a timeout, say): nothing left to answer

    def _apply(self, fault: Fault | None, request: RecordedRequest) -> None:
        if isinstance(fault, Delay):
            self.fault_server.wait(fault.seconds)
            self._apply(fault.then, request)
        elif isinstance(fault, Drop):
            self.close_connection = True
        elif isinstance(fault, Respond):
            self._send(fault.status, *_encode_body(fault.body, fault.headers or {}))
        elif self.fault_server.upstream:
            self._send(*_forward(self.fault_server.upstream, request))
        else:
            self._send(200, {"Content-Type": "application/json"}, b"{}")

    def _send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)


def _parse_json(body: bytes) -> Any:
    """The JSON value in a request body, or None."""
    try:
        return json.loads(body) if body.strip() else None
    except ValueError:
        return None


def _encode_body(body: Any, headers: Mapping[str, str]) -> tuple[dict[str, str], bytes]:
    """Headers and bytes for a Respond body: JSON for dicts and lists, text as UTF-8, bytes as they are."""
    headers = dict(headers)
    if body is None:
        return headers, b""
    if isinstance(body, bytes):
        return headers, body
    if isinstance(body, str):
        headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        return headers, body.encode("utf-8")
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    return headers, json.dumps(body).encode("utf-8")


def _forward(upstream: str, request: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
    """Send `request` on to `upstream` unchanged and return its status, headers and body (502 if unreachable)."""
    target = urlsplit(upstream)
    connection_class = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(target.netloc, timeout=UPSTREAM_TIMEOUT_SECONDS)
    headers = {name: value for name, value in request.headers.items() if name.lower() not in HOP_BY_HOP}
    try:
        connection.request(request.method, target.path + request.path, body=request.body or None, headers=headers)
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    except OSError as error:
        body = json.dumps({"message": f"The fault server could not reach {upstream}: {error}"}).encode("utf-8")
        return 502, {"Content-Type": "application/json"}, body
    finally:
        connection.close()
