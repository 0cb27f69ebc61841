"""`generate()`: the catalogue, then the chunks of customers (written in the background), then the dirty parts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from orchestration.lib.contract import TABLE_NAMES
from orchestration.lib.generator.catalogue import Catalogue, build_catalogue
from orchestration.lib.generator.chunks import Chunk, generate_chunk
from orchestration.lib.generator.dirty import SAMPLE_ROWS, plant_rows, rule_counts
from orchestration.lib.generator.effect import PlantedEffect
from orchestration.lib.generator.ids import IdSequences
from orchestration.lib.generator.report import GenerationReport
from orchestration.lib.generator.writer import (
    CHUNKED_TABLES,
    FORMATS,
    PartWriter,
    prepare_output,
    write_dirty_part,
    write_small_table,
)

CUSTOMERS_PER_SCALE = 10_000
CHUNK_CUSTOMERS = 50_000

Progress = Callable[[str, int], None]


@dataclass
class _Tally:
    """Rows written so far per table (reported to `progress` as they grow) and older versions written."""

    progress: Progress | None
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLE_NAMES, 0))
    superseded: dict[str, int] = field(default_factory=lambda: {"contacts": 0, "orders": 0})

    def add(self, name: str, rows: int) -> None:
        """Count `rows` more rows of `name` and report the total so far."""
        self.rows[name] += rows
        if self.progress is not None:
            self.progress(name, self.rows[name])


def generate(out_dir: Path, *, scale: float = 1.0, seed: int = 0, dirty: bool = False,
             end_date: date | None = None, fmt: str = "parquet",
             progress: Progress | None = None, effect: PlantedEffect | None = None) -> GenerationReport:
    """Write a sample landing directory to `out_dir` (its table entries are replaced) and return the report.

    scale 1 is about 10k customers, 40k orders, 100k order lines and 1M usage events; sizes grow linearly.
    `progress(table, rows_so_far)` is called after each part is generated. `effect` plants a known effect of the
    cross-sell and upsell programmes after its send date (see `effect`); without it nothing changes.
    """
    started = time.perf_counter()
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be 'parquet' or 'csv', not {fmt!r}")
    if not scale > 0:
        raise ValueError("scale must be positive")
    out_dir = Path(out_dir)
    end_date = end_date or datetime.now(UTC).date()
    n_customers = max(1, round(CUSTOMERS_PER_SCALE * scale))
    catalogue = build_catalogue(seed, end_date)
    if effect is not None:
        effect.check_fits(catalogue.end)
    prepare_output(out_dir)
    tally = _Tally(progress)
    for name, table in catalogue.small_tables().items():
        write_small_table(out_dir, name, table, fmt, dirty)
        tally.add(name, table.num_rows)
    samples = _write_chunks(out_dir, catalogue, seed, n_customers, fmt, tally, keep_samples=dirty, effect=effect)
    planted: dict[str, dict[str, int]] = {}
    if dirty:
        for name, rows in plant_rows(catalogue, seed, samples, n_customers).items():
            write_dirty_part(out_dir, name, rows)
            tally.rows[name] += len(rows)
            planted[name] = rule_counts(rows)
    report = GenerationReport(out_dir=out_dir, end_date=end_date, rows=tally.rows, superseded=tally.superseded,
                              planted=planted, seconds=0.0)
    planted_effect = {} if effect is None else {"planted_effect": effect.describe()}
    (out_dir / "_generation.json").write_text(
        report.to_json(scale=scale, seed=seed, dirty=dirty, fmt=fmt, **planted_effect), encoding="utf-8")
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _write_chunks(out_dir: Path, catalogue: Catalogue, seed: int, n_customers: int, fmt: str, tally: _Tally,
                  keep_samples: bool, effect: PlantedEffect | None = None) -> dict[str, pa.Table]:
    """Generate and write the chunks of CHUNK_CUSTOMERS customers; returns the first chunk's samples (the rows
    planted rows are copied from) when `keep_samples`."""
    for name in CHUNKED_TABLES:
        (out_dir / name).mkdir()
    sequences = IdSequences()
    samples: dict[str, pa.Table] = {}
    with PartWriter(out_dir, fmt) as writer:
        for index, first in enumerate(range(0, n_customers, CHUNK_CUSTOMERS)):
            writer.wait_for_room()
            chunk = generate_chunk(catalogue, seed, index, first, min(CHUNK_CUSTOMERS, n_customers - first),
                                   sequences, effect)
            if index == 0 and keep_samples:
                samples = _samples(chunk)
            writer.submit(index, chunk.tables)
            for name, count in chunk.superseded.items():
                tally.superseded[name] += count
            for name, table in chunk.tables.items():
                tally.add(name, table.num_rows)
            del chunk  # bound memory: the writer holds the tables only until they are written
    return samples


def _samples(chunk: Chunk) -> dict[str, pa.Table]:
    """Copies of each table's leading latest-version rows, SAMPLE_ROWS at most."""
    samples = {}
    for name, table in chunk.tables.items():
        keep = min(chunk.current_rows.get(name, table.num_rows), SAMPLE_ROWS)
        samples[name] = table.slice(0, keep).take(pa.array(np.arange(keep)))
    return samples
