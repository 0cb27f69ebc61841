"""What the Dagster UI shows about each mart after a build: its row count, a preview, and the figures to plot.

Plain Python over a read-only warehouse connection: `defs/transform` attaches the result to each mart's
materialization. NRR, GRR and the programmes' lift are numbers (not text), so Dagster plots them across runs.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import duckdb

from orchestration.lib.names import MARTS_SCHEMA

PREVIEW_ROWS = 5
PREVIEW_COLUMNS = 8


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")[:40]


def preview_markdown(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """The first rows (and columns) of `relation` as a Markdown table."""
    result = con.execute(f"select * from {relation} limit {PREVIEW_ROWS}")
    columns = [column[0] for column in result.description][:PREVIEW_COLUMNS]
    rows = [row[:PREVIEW_COLUMNS] for row in result.fetchall()]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value) if isinstance(value, Decimal | int | float) else None
    return number if number is not None and math.isfinite(number) else None


def retention_figures(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """NRR and GRR of the latest month that has them, and that month's ending MRR."""
    row = con.execute(f"""select nrr_12m, grr_12m, ending_mrr from {MARTS_SCHEMA}.nrr_monthly
                          where nrr_12m is not null order by month desc limit 1""").fetchone()
    if row is None:
        return {}
    return {name: value for name, value in zip(("nrr_12m", "grr_12m", "ending_mrr_usd"), map(number, row),
                                               strict=True) if value is not None}


def lift_figures(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Per programme, the difference in conversion rate (treated − holdout) of its latest closed send month,
    with its 95 % interval."""
    rows = con.execute(f"""select programme, conversion_rate_difference, difference_ci_lower, difference_ci_upper
                           from {MARTS_SCHEMA}.expansion_programme_lift where is_window_closed
                           qualify row_number() over (partition by programme order by send_month desc) = 1""")
    figures: dict[str, float] = {}
    for programme, difference, lower, upper in rows.fetchall():
        for suffix, value in (("lift", difference), ("lift_ci_lower", lower), ("lift_ci_upper", upper)):
            if number(value) is not None:
                figures[f"{programme}_{suffix}"] = number(value)
    return figures


FIGURES = {"nrr_monthly": retention_figures, "expansion_programme_lift": lift_figures}


def mart_metadata(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, Any]:
    """`rows`, `preview` (Markdown) and the mart's own figures, for the mart `name` (values are plain Python)."""
    relation = f'{MARTS_SCHEMA}."{name}"'
    metadata: dict[str, Any] = {
        "rows": con.execute(f"select count(*) from {relation}").fetchone()[0],
        "preview": preview_markdown(con, relation),
    }
    if name in FIGURES:
        metadata.update(FIGURES[name](con))
    return metadata
