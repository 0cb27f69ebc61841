"""The report page: one self-contained HTML file with every chart, the Vega libraries inlined (no network).

Each chart sits in a `<div class="chart" id="chart-…">`; the page's script embeds them with vega-embed as SVG
and marks each div `data-rendered="true"` (or `data-error="…"`), then the body `data-charts="done"`, so that
a headless browser can tell that everything was drawn.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

import altair as alt
import pandas as pd

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 60rem;
       color: #212121; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2.4rem; border-bottom: 1px solid #e0e0e0; padding-bottom: 0.2rem; }
p.lede, p.how { color: #424242; }
p.how { font-size: 0.92rem; }
.chart { margin: 0.8rem 0; min-height: 60px; }
table { border-collapse: collapse; font-size: 0.85rem; margin-top: 0.6rem; }
th, td { border-bottom: 1px solid #eeeeee; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
.missing { color: #b71c1c; }
"""


@dataclass(frozen=True)
class Section:
    """One chart with its heading and how to read it."""

    key: str  # the div is chart-<key>
    title: str
    how_to_read: str
    chart: alt.TopLevelMixin
    after: str = ""  # HTML below the chart (a table of figures)


def render_page(title: str, lede: str, sections: list[Section], vegaembed_script: str) -> str:
    """The whole HTML document."""
    specs = [{"id": f"chart-{section.key}", "spec": section.chart.to_dict()} for section in sections]
    body = "\n".join(
        f'<h2>{html.escape(section.title)}</h2>\n<p class="how">{section.how_to_read}</p>\n'
        f'<div class="chart" id="chart-{section.key}"></div>\n{section.after}'
        for section in sections)
    charts_json = json.dumps(specs, default=str).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>{STYLE}</style>
<script type="text/javascript">
{vegaembed_script}
</script>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p class="lede">{lede}</p>
{body}
<script type="text/javascript">
const charts = {charts_json};
Promise.all(charts.map(function (chart) {{
  const element = document.getElementById(chart.id);
  return vegaEmbed(element, chart.spec, {{renderer: "svg", actions: false}})
    .then(function () {{ element.dataset.rendered = "true"; }})
    .catch(function (error) {{ element.dataset.error = String(error); console.error(error); }});
}})).then(function () {{ document.body.dataset.charts = "done"; }});
</script>
</body>
</html>
"""


def lift_table(frame: pd.DataFrame) -> str:
    """The programme lift's figures as an HTML table."""
    header = ("programme", "month", "treated", "held out", "capped", "treated rate", "holdout rate",
              "difference (95 % interval)", "incremental", "window")
    rows = []
    for row in frame.itertuples():
        incremental = (f"{_money(row.incremental_revenue_usd)} revenue" if row.programme == "cross_sell"
                       else f"{_money(row.incremental_mrr_usd)} MRR")
        interval = ("–" if pd.isna(row.conversion_rate_difference) else
                    f"{row.conversion_rate_difference:+.1%} ({row.difference_ci_lower:+.1%} to "
                    f"{row.difference_ci_upper:+.1%})")
        cells = (row.programme.replace("_", "-"), row.send_month.strftime("%Y-%m"), f"{row.treated_count:,}",
                 f"{row.holdout_count:,}", f"{row.capped_count:,}", _percent(row.treated_conversion_rate),
                 _percent(row.holdout_conversion_rate), interval, incremental,
                 "closed" if row.is_window_closed else f"open ({row.open_window_count:,} rows)")
        rows.append("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>")
    head = "<tr>" + "".join(f"<th>{html.escape(cell)}</th>" for cell in header) + "</tr>"
    return f"<table>\n{head}\n" + "\n".join(rows) + "\n</table>"


def _percent(value: object) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value):.1%}"


def _money(value: object) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value):+,.2f} USD"
