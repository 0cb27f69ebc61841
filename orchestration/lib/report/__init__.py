"""`expansion report`: a static HTML report of the marts, written to `DIR/index.html`.

Six charts, drawn with Vega-Lite through altair, the Vega libraries inlined by vl-convert so that the page opens
offline: the NRR bridge of the last months as waterfalls, MRR by movement over time, NRR and GRR by segment, the
strongest co-purchase pairs, today's upgrade flags by trigger and route, and the programmes' lift with its 95 %
interval. The warehouse is only read (`data.open_warehouse`).

Modules: `data` (the queries), `charts` (the Vega-Lite specifications), `page` (the HTML).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.lib.report import charts
from orchestration.lib.report.data import ReportData, ReportError, open_warehouse, read_report_data
from orchestration.lib.report.page import Section, lift_table, render_page

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

__all__ = ["ReportError", "ReportResult", "write_report"]

TITLE = "expansion: revenue, retention and the programmes' lift"


@dataclass(frozen=True)
class ReportResult:
    path: Path  # DIR/index.html
    charts: int
    missing: tuple[str, ...]  # marts the warehouse lacks (their charts say so)


def write_report(warehouse: Path, out_dir: Path) -> ReportResult:
    """Read `warehouse` and write `out_dir/index.html`; ReportError (one sentence) when the warehouse cannot be
    read or `out_dir` cannot be written."""
    with open_warehouse(warehouse) as con:
        data = read_report_data(con, warehouse)
    sections = build_sections(data)
    document = render_page(TITLE, lede(warehouse, data), sections, vegaembed_script())
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "index.html"
        path.write_text(document, encoding="utf-8")
    except OSError as error:
        raise ReportError(f"The report cannot be written to {out_dir} ({error.strerror or error}).") from None
    return ReportResult(path=path, charts=len(sections), missing=data.missing)


def vegaembed_script() -> str:
    """vega, vega-lite and vega-embed as one script, for the Vega-Lite version altair writes."""
    import vl_convert
    from altair.utils._importers import vl_version_for_vl_convert

    return vl_convert.javascript_bundle(vl_version=vl_version_for_vl_convert())


def lede(warehouse: Path, data: ReportData) -> str:
    month = f" The latest month in the marts is {data.latest_month}." if data.latest_month else ""
    missing = (f' <span class="missing">Not in this warehouse yet: {", ".join(data.missing)}.</span>'
               if data.missing else "")
    return (f"Built from <code>{warehouse}</code>.{month} Every chart has tooltips with the exact figures; money "
            f"is USD.{missing}")


def build_sections(data: ReportData) -> list[Section]:
    """The six charts in reading order (a placeholder where a mart is missing or empty)."""
    return [
        Section("bridge", "NRR bridge, last months",
                "Each small chart is one month: the grey bars are the MRR at its start and end, green bars what "
                "new customers, expansion and reactivations added, red bars what contraction and churn took "
                "away. Start + green − red = end, to the cent.",
                _chart(data.bridge, charts.bridge_waterfall, "marts.nrr_monthly")),
        Section("movements", "MRR by movement",
                "MRR moved each month by kind of movement: above zero what was gained, below zero what was lost. "
                "A month whose red part outgrows its green part lost revenue.",
                _chart(data.movements, charts.mrr_movements, "marts.nrr_monthly")),
        Section("retention", "NRR and GRR by segment",
                "Net revenue retention (NRR: this month's MRR of the customers who paid 12 months ago ÷ their MRR "
                "then) and gross revenue retention (GRR: the same with each customer capped at their MRR then), "
                "per segment and for all customers. Above the grey 100 % line the cohort grew.",
                _chart(data.retention, charts.retention_trend, "marts.nrr_monthly_by_segment")),
        Section("pairs", "Strongest co-purchase pairs",
                "The product pairs bought together most often beyond chance (lift: 3 = three times as often as if "
                "independent), from the orders of the lookback window; darker bars have a higher confidence. "
                "These rules drive the cross-sell e-mails.",
                _chart(data.pairs, charts.copurchase_pairs, "marts.copurchase_pairs")),
        Section("triggers", "Upgrade triggers by reason and route",
                "Today's upgrade flags by what fired them and who acts: customer success or sales; held-out flags "
                "(the control group) and capped ones (the account's open flag sits with the other team) are "
                "recorded but not routed.",
                _chart(data.triggers, charts.upgrade_triggers, "marts.upgrade_trigger_accounts")),
        Section("lift", "Did the offers work? Programme lift",
                "Per programme and month of send: the conversion rate of the treated rows minus that of the "
                "holdout (a cross-sell recommendation converts when its product is ordered in the window, an "
                "upgrade flag when the account moves to a higher tier), with its 95 % interval (Newcombe's hybrid "
                "score method). An interval clear of the dashed zero line is a real effect; a hollow point is a "
                "month whose windows are still open, so its figures will still move.",
                _chart(data.lift, charts.programme_lift, "marts.expansion_programme_lift"),
                after=lift_table(data.lift) if data.lift is not None and len(data.lift) else ""),
    ]


def _chart(frame: pd.DataFrame | None, build: Callable[[pd.DataFrame], alt.TopLevelMixin],
           mart: str) -> alt.TopLevelMixin:
    """The chart `build` draws from `frame`, or a placeholder saying that the mart is missing or empty."""
    if frame is None:
        return charts.placeholder(f"{mart} is not in this warehouse yet.")
    if not len(frame):
        return charts.placeholder(f"{mart} has no rows yet.")
    return build(frame)
