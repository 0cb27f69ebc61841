"""Prism validating mocks of the vendor specs: what the sync layer sends is checked against the vendor's schema.

Prism (`@stoplight/prism-cli`) is installed by `make tools` into `.tools/` beside the repository's Makefile. It
answers 422 (or 401, 415, ...) with an `sl-violations` header naming what the request broke, and otherwise an
example response of the spec. It keeps no state and never fails at random: see `fault_server` for that.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
PRISM_EXECUTABLE = REPOSITORY_ROOT / ".tools" / "node_modules" / ".bin" / "prism"
HOST = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS = 60.0
STOP_GRACE_SECONDS = 5.0
LOG_TAIL_CHARS = 3000


class PrismNotInstalledError(RuntimeError):
    """Prism's executable is not where `make tools` puts it."""


@contextmanager
def prism_mock(spec: Path, *, executable: Path | None = None,
               startup_timeout: float = STARTUP_TIMEOUT_SECONDS) -> Iterator[str]:
    """Serve `spec` with a Prism validating mock on a free local port; yield its base URL, stop it on exit.

    `executable` defaults to PRISM_EXECUTABLE, where `make tools` installs Prism.
    """
    executable = executable or PRISM_EXECUTABLE
    problem = missing_prism(executable)
    if problem:
        raise PrismNotInstalledError(problem)
    port = free_port()
    log_fd, log_name = tempfile.mkstemp(prefix=f"prism-{spec.stem}-", suffix=".log")
    log_path = Path(log_name)
    try:
        with os.fdopen(log_fd, "wb") as log:
            process = subprocess.Popen(
                [str(executable), "mock", "-h", HOST, "-p", str(port), "--errors", str(spec)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        try:
            wait_until_listening(process, port, startup_timeout, spec, log_path)
            yield f"http://{HOST}:{port}"
        finally:
            stop_process_group(process)
    finally:
        log_path.unlink(missing_ok=True)


def missing_prism(executable: Path | None = None) -> str | None:
    """One sentence saying how to install Prism when `executable` (default: PRISM_EXECUTABLE) is missing, else None."""
    executable = executable or PRISM_EXECUTABLE
    if os.access(executable, os.X_OK):
        return None
    return f"Prism is not installed at {executable}: run `make tools` to install it."


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_until_listening(process: subprocess.Popen[bytes], port: int, timeout: float, spec: Path,
                         log_path: Path) -> None:
    """Return once `port` accepts connections; raise RuntimeError with the log's tail if Prism exits or is slow."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Prism exited with code {process.returncode} while starting on {spec}; "
                               f"its log ends:\n{log_tail(log_path)}")
        if port_answers(port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"Prism did not listen on port {port} within {timeout:.0f} s for {spec}; "
                       f"its log ends:\n{log_tail(log_path)}")


def port_answers(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:`port`."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def log_tail(log_path: Path) -> str:
    """The last LOG_TAIL_CHARS characters of the log."""
    text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    return text[-LOG_TAIL_CHARS:] or "(empty)"


def stop_process_group(process: subprocess.Popen[bytes], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the process group led by `process`, then SIGKILL it after `grace` seconds (Prism may ignore TERM)."""
    signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        signal_group(process.pid, signal.SIGKILL)
        process.wait()
        return
    signal_group(process.pid, signal.SIGKILL)  # any child the leader left behind


def signal_group(pgid: int, signum: signal.Signals) -> None:
    """Send `signum` to process group `pgid`, ignoring a group that is already gone."""
    with suppress(ProcessLookupError):
        os.killpg(pgid, signum)
