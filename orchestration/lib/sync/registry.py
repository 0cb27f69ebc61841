"""Every destination the sync models are delivered to: one line per destination module and its `SPEC`.

Adding a destination is a new module (a class that follows `destinations.Destination`, a `connect` function and a
`SPEC`) and one line here; the orchestration builds its check, asset and resource settings from these specs.
"""

from __future__ import annotations

from orchestration.lib.sync import hubspot, klaviyo
from orchestration.lib.sync.destinations import DestinationSpec

DESTINATIONS: tuple[DestinationSpec, ...] = (
    hubspot.SPEC,
    klaviyo.SPEC,
)


def spec_named(name: str) -> DestinationSpec:
    """The destination whose ledger name is `name` (e.g. "hubspot.companies"); ValueError naming the known ones."""
    for spec in DESTINATIONS:
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in DESTINATIONS)
    raise ValueError(f"There is no destination named {name!r}; the destinations are {known}.")
