"""The report `generate()` returns and writes to `_generation.json`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any


@dataclass
class GenerationReport:
    """What `generate()` wrote: rows per table, older versions, planted rows, and how long it took."""

    out_dir: Path
    end_date: date
    rows: dict[str, int]  # rows written per table, planted and superseded rows included
    superseded: dict[str, int]  # older versions written for contacts and orders (not errors)
    planted: dict[str, dict[str, int]]  # table -> Rule value -> contract-breaking rows planted (only with dirty)
    seconds: float

    def to_json(self, **parameters: Any) -> str:
        """The deterministic part of the report (no timing, no out_dir) as JSON."""
        body = {
            "end_date": self.end_date.isoformat(),
            **parameters,
            "rows": self.rows,
            "superseded": self.superseded,
            "planted": self.planted,
        }
        return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
