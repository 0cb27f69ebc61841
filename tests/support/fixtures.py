"""Pytest fixtures for talking to the vendors without the network: Prism mocks of their specs and fault servers.

Load with `pytest_plugins = ["tests.support.fixtures"]` in tests/conftest.py. When Prism is missing the mock
fixtures fail (never skip: CI installs it, and a skip would let the contract tests vanish silently).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.support.fault_server import FaultServer
from tests.support.prism import missing_prism, prism_mock


def contracts_dir() -> Path:
    """The vendor specs: `../shared/contracts` beside the repository root."""
    return Path(__file__).resolve().parents[3] / "shared" / "contracts"


def without_untyped_nullable(node: Any) -> Any:
    """The spec with `nullable` dropped from every schema that has no `type` (e.g. `{"$ref": …, "nullable": true}`).

    Prism's validator (ajv) refuses to compile such schemas ("nullable" cannot be used without "type") and then
    lets every request body through unchecked: Klaviyo's spec has 86 of them, so its bodies were never validated.
    Dropping the keyword only forbids null where the vendor allows it, which our payloads never send.
    """
    if isinstance(node, dict):
        cleaned = {key: without_untyped_nullable(value) for key, value in node.items()}
        if "nullable" in cleaned and "type" not in cleaned:
            del cleaned["nullable"]
        return cleaned
    if isinstance(node, list):
        return [without_untyped_nullable(item) for item in node]
    return node


def serve_spec(file_name: str, folder: Path | None = None) -> Iterator[str]:
    """Yield the base URL of a Prism mock of one spec in `contracts_dir()`, failing the test if Prism is missing.

    With `folder`, Prism serves a copy of the spec written there with untyped `nullable`s dropped, so that it
    validates request bodies instead of skipping them.
    """
    spec = contracts_dir() / file_name
    if not spec.is_file():
        pytest.fail(f"The vendor spec {spec} is missing: the contract tests need ../shared/contracts.", pytrace=False)
    if folder is not None:
        copy = folder / file_name
        copy.write_text(json.dumps(without_untyped_nullable(json.loads(spec.read_text(encoding="utf-8")))),
                        encoding="utf-8")
        spec = copy
    problem = missing_prism()
    if problem:
        pytest.fail(problem, pytrace=False)
    with prism_mock(spec) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def hubspot_mock() -> Iterator[str]:
    """Base URL of Prism serving the HubSpot CRM v3 spec (companies and contacts)."""
    yield from serve_spec("hubspot_crm.oas.json")


@pytest.fixture(scope="session")
def klaviyo_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of Prism serving the Klaviyo spec (events and profiles, revision 2026-07-15), bodies validated."""
    yield from serve_spec("klaviyo.oas.json", folder=tmp_path_factory.mktemp("klaviyo-spec"))


@pytest.fixture
def fault_server() -> Iterator[Callable[..., FaultServer]]:
    """A factory of running fault servers, `fault_server(upstream=None)`, all stopped when the test ends."""
    with ExitStack() as stack:

        def start(upstream: str | None = None) -> FaultServer:
            return stack.enter_context(FaultServer(upstream))

        yield start
