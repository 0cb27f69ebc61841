"""Every registered destination: a sync model and suite to deliver, a credential it insists on, and a check its
vendor's mock (`<kind>_mock`) accepts. A destination added to the registry is held to the same, with no new test."""

from __future__ import annotations

import subprocess
import sys

import pytest

from orchestration.lib import paths
from orchestration.lib.sync.destinations import DestinationError, DestinationSpec
from orchestration.lib.sync.registry import DESTINATIONS, spec_named
from orchestration.lib.validation import DEFAULT_EXPECTATIONS_DIR

CREDENTIAL = "secret-credential-never-shown"
SYNC_MODELS = paths.DBT_PROJECT_DIR / "models" / "sync"


def test_names_assets_and_models_are_unique_and_found_by_name() -> None:
    for field in ("name", "asset_name", "model"):
        values = [getattr(spec, field) for spec in DESTINATIONS]
        assert len(set(values)) == len(values), field
    assert [spec_named(spec.name) for spec in DESTINATIONS] == list(DESTINATIONS)
    with pytest.raises(ValueError, match=r"no destination named 'hubspot\.contacts'; the destinations are "
                                         r"hubspot\.companies, klaviyo\.events\.$"):
        spec_named("hubspot.contacts")


@pytest.mark.parametrize("spec", DESTINATIONS, ids=lambda spec: spec.name)
def test_each_destination_delivers_a_sync_model_behind_its_own_suite(spec: DestinationSpec) -> None:
    assert (SYNC_MODELS / f"{spec.model}.sql").is_file()
    assert (DEFAULT_EXPECTATIONS_DIR / f"{spec.model}.json").is_file()
    assert spec.name.split(".")[0] == spec.kind
    assert spec.description.endswith(".")


@pytest.mark.parametrize("spec", DESTINATIONS, ids=lambda spec: spec.name)
@pytest.mark.parametrize("credential", ["", "   "])
def test_an_empty_credential_is_refused_naming_its_setting(spec: DestinationSpec, credential: str) -> None:
    with pytest.raises(DestinationError, match=f" needs {spec.credential_setting}: "):
        spec.connect(credential, "http://127.0.0.1:9")


@pytest.mark.parametrize("spec", DESTINATIONS, ids=lambda spec: spec.name)
def test_each_destination_connects_and_checks_against_its_vendors_mock(spec: DestinationSpec,
                                                                       request: pytest.FixtureRequest) -> None:
    mock = request.getfixturevalue(f"{spec.kind}_mock")

    destination = spec.connect(CREDENTIAL, mock, max_attempts=1)
    destination.check()

    assert destination.name == spec.name
    assert destination.batch_size >= 1
    assert CREDENTIAL not in repr(destination) + repr(destination._client)


def test_lib_imports_no_dagster_module() -> None:
    script = ("import sys; import orchestration.lib.sync.registry, orchestration.lib.sync.delivery, "
              "orchestration.lib.sync.outbox, orchestration.lib.validation; "
              "print(sorted(name for name in sys.modules if name.split('.')[0].startswith('dagster')))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            cwd=paths.PROJECT_ROOT)
    assert result.stdout.strip() == "[]"
