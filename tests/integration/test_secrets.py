"""The vendor credentials never leave the request headers: not the output, the warehouse, the outbox, dbt's files
or the Dagster instance, even when the vendors fail or echo the credential back.

One `expansion run` with distinctive fake credentials against local fault servers: HubSpot refuses the token (401,
quoting it back in its error body), Klaviyo answers 503 and 502 first, then accepts most events and rejects some
with a 400 whose reason quotes the key. The run fails (the refused token, the rejected events), as it should. Then
every file under the test's folder (warehouse and its WAL, outbox, dbt's target and log folders, DAGSTER_HOME), every
text value in the warehouse (DuckDB compresses strings on disk, so the bytes alone prove nothing), the captured
standard output and error and the log records are searched for the credentials. (That the outbox is owner-only
is checked where a run writes it, tests/integration/test_sync.py, and in tests/unit/test_delivery.py.)
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from orchestration.lib import paths
from orchestration.run import cli
from tests.conftest import AS_OF, read_warehouse
from tests.support.fault_server import FaultServer, RecordedRequest, Respond

SMALL_DATA_VARS = ["--var", "cross_sell_min_pair_orders=3", "--var", f"as_of_date={AS_OF}"]
TOKEN = "pat-na1-0f5e-SECRET-hubspot-token-4d2c9b7a"
API_KEY = "pk_SECRET_klaviyo_key_8e1f6a3d0b"
SECRETS = (TOKEN, API_KEY)


def needles() -> list[bytes]:
    """What a leak looks like: each secret as text, UTF-16 (as some logs store it) and base64."""
    found = []
    for secret in SECRETS:
        found += [secret.encode(), secret.encode("utf-16-le"), base64.b64encode(secret.encode())]
        found.append(secret.split("SECRET")[1].encode())  # a truncated secret leaks too
    return found


def files_under(*folders: Path, since: float = 0.0) -> Iterator[Path]:
    for folder in folders:
        if folder.is_dir():
            yield from (path for path in folder.rglob("*") if path.is_file() and path.stat().st_mtime >= since)


def leaks_in_files(*folders: Path, since: float = 0.0) -> list[str]:
    leaks = []
    for path in files_under(*folders, since=since):
        data = path.read_bytes()
        leaks += [f"{path}: {needle[:12]!r}…" for needle in needles() if needle in data]
    return leaks


def leaks_in_warehouse(warehouse: Path) -> list[str]:
    """Every text value of every table (and every column cast to text), searched with SQL."""
    con = duckdb.connect(str(warehouse), read_only=True)
    leaks = []
    try:
        tables = con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        for schema, table in tables:
            columns = [row[0] for row in con.execute(
                "select column_name from duckdb_columns() where schema_name = ? and table_name = ?",
                [schema, table]).fetchall()]
            for secret in SECRETS:
                core = secret.split("SECRET")[1]
                for column in columns:
                    hits = con.execute(
                        f'select count(*) from "{schema}"."{table}" '
                        f'where contains(cast("{column}" as varchar), ?) or contains(cast("{column}" as varchar), ?)',
                        [secret, core]).fetchone()[0]
                    if hits:
                        leaks.append(f"{schema}.{table}.{column}: {hits} rows")
    finally:
        con.close()
    return leaks


def auth_of(request: RecordedRequest) -> str:
    return request.header("Authorization") or ""


def hubspot_refusing(server: FaultServer) -> None:
    """HubSpot refuses the token on every call, and quotes the header it got (some APIs do)."""
    def refuse(request: RecordedRequest) -> Respond:
        return Respond(401, {"status": "error", "category": "INVALID_AUTHENTICATION",
                             "message": f"Authentication credentials not valid: {auth_of(request)}"})
    for method in ("GET", "POST", "PATCH"):
        server.handler(method, "/", refuse)


def klaviyo_stumbling(server: FaultServer) -> None:
    """Klaviyo: two server errors quoting the key (retried), then a 400 whose reason quotes it (the record is
    rejected, and the reason kept in the ledger)."""
    server.script("POST", "/api/events", Respond(503, {"errors": [{"detail": f"overloaded, key {API_KEY}"}]}),
                  Respond(502, f"bad gateway for Klaviyo-API-Key {API_KEY}"))
    server.handler("POST", "/api/events", lambda request: Respond(400, {"errors": [{
        "status": 400, "code": "invalid", "detail": f"Key {auth_of(request)} may not send this event",
        "source": {"pointer": "/data/attributes/properties"}}]}))
    server.handler("GET", "/api/events", lambda request: Respond(200, {"data": [], "links": {}}))


@pytest.fixture
def capture_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.mark.slow
def test_credentials_never_leave_the_request_headers(
        small_landing: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch,
        fault_server: Callable[..., FaultServer], capfd: pytest.CaptureFixture[str],
        capture_logs: pytest.LogCaptureFixture) -> None:
    """A faulted run: HubSpot refuses its token (401), Klaviyo stumbles (503, 502, then a 400), every vendor answer
    quoting the credential back; then no trace of either credential anywhere the run wrote."""
    started = time.time() - 1
    hubspot, klaviyo = fault_server(), fault_server()
    hubspot_refusing(hubspot)
    klaviyo_stumbling(klaviyo)
    for name, value in {"HUBSPOT_ACCESS_TOKEN": TOKEN, "HUBSPOT_BASE_URL": hubspot.base_url,
                        "KLAVIYO_API_KEY": API_KEY, "KLAVIYO_BASE_URL": klaviyo.base_url}.items():
        monkeypatch.setenv(name, value)
    warehouse, outbox = isolated_env / "w.duckdb", isolated_env / "outbox"

    code = cli.main(["run", "--raw", str(small_landing), "--warehouse", str(warehouse), "--outbox", str(outbox),
                     *SMALL_DATA_VARS])
    out, err = capfd.readouterr()

    # The credentials did reach the vendors, so the search below looks for something the run held.
    assert hubspot.requests and all(auth_of(request) == f"Bearer {TOKEN}" for request in hubspot.requests)
    events = [request for request in klaviyo.requests if request.method == "POST"]
    assert len(events) == 3 and all(auth_of(request) == f"Klaviyo-API-Key {API_KEY}" for request in events)
    assert code == 1, out  # refused credentials and rejected events fail the run
    assert "HUBSPOT_ACCESS_TOKEN" in out, out  # the setting is named, not its value
    rejected = read_warehouse(warehouse, "select status, detail from sync.delivery_ledger where destination = "
                              "'klaviyo.events'")
    assert [status for status, _ in rejected] == ["rejected"] and "may not send this event" in rejected[0][1]

    leaks = [f"standard output: {secret[:12]}…" for secret in SECRETS if secret in out]
    leaks += [f"standard error: {secret[:12]}…" for secret in SECRETS if secret in err]
    leaks += [f"log record: {secret[:12]}…" for secret in SECRETS if secret in capture_logs.text]
    leaks += leaks_in_warehouse(warehouse)
    # the test's folder: warehouse and WAL, outbox, dbt's target and logs, the Dagster instance (DAGSTER_HOME)
    leaks += leaks_in_files(isolated_env)
    # and whatever dbt wrote in the project during this run (its logs and target folders)
    leaks += leaks_in_files(paths.DBT_PROJECT_DIR / "logs", paths.DBT_PROJECT_DIR / "target", since=started)
    assert any(files_under(isolated_env / "dagster_home")), "the run recorded nothing in DAGSTER_HOME"
    assert any(files_under(isolated_env / "dbt-target")), "dbt wrote nothing in its target folder"
    assert not leaks, "the credentials leaked:\n" + "\n".join(leaks)


def test_a_planted_leak_is_found(tmp_path: Path) -> None:
    """The search can fail: a credential in a DuckDB table (compressed on disk) or in a file is found."""
    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema sync")
    con.execute("create table sync.delivery_log as select 'refused: ' || ? || ' ' || range as detail "
                "from range(5000)", [f"Bearer {TOKEN}"])
    con.close()
    assert leaks_in_warehouse(warehouse) == ["sync.delivery_log.detail: 5000 rows"]
    (tmp_path / "dagster_home").mkdir()
    (tmp_path / "dagster_home" / "run.log").write_text(f"key={API_KEY}")
    assert leaks_in_files(tmp_path / "dagster_home")
