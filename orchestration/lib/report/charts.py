"""The report's charts as Vega-Lite specifications, built with altair from the frames of `data`.

Each builder takes its frame and returns an `alt.TopLevelMixin`; `page` turns them into JSON and embeds them. Money
is USD, ratios are shown as percentages, and every mark has a tooltip with the exact figures.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

WIDTH = 760
INCREASE, DECREASE, TOTAL = "#2e7d32", "#c62828", "#607d8b"
MOVEMENT_LABELS = {"new_mrr": "new", "expansion_mrr": "expansion", "reactivation_mrr": "reactivation",
                   "contraction_mrr": "contraction", "churned_mrr": "churned"}
MOVEMENT_COLOURS = {"new": "#1b5e20", "expansion": "#66bb6a", "reactivation": "#a5d6a7", "contraction": "#ef9a9a",
                    "churned": "#c62828"}
PROGRAMME_LABELS = {"cross_sell": "cross-sell e-mails", "upsell": "upgrade flags"}


def bridge_waterfall(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """The NRR bridge of each of the last months as a waterfall: start, + new, + expansion, + reactivation,
    − contraction, − churned, end (small multiples, one per month)."""
    steps = []
    for row in frame.sort_values("month").itertuples():
        month = row.month.strftime("%Y-%m")
        movements = [("+ new", float(row.new_mrr)), ("+ expansion", float(row.expansion_mrr)),
                     ("+ reactivation", float(row.reactivation_mrr)), ("− contraction", -float(row.contraction_mrr)),
                     ("− churned", -float(row.churned_mrr))]
        levels = [float(row.starting_mrr)]
        for _, change in movements:
            levels.append(levels[-1] + change)
        # the axis starts a little below the month's lowest level, so that the movements are visible (the
        # tooltips give the totals)
        floor = 0.97 * min(*levels, float(row.ending_mrr))
        steps.append(_step(month, 0, "start", floor, levels[0], "total"))
        for order, ((label, change), level) in enumerate(zip(movements, levels, strict=False), start=1):
            steps.append(_step(month, order, label, level, level + change, "increase" if change >= 0 else "decrease"))
        steps.append(_step(month, 6, "end", floor, float(row.ending_mrr), "total"))
    data = pd.DataFrame(steps)
    colour = alt.Color("kind:N", scale=alt.Scale(domain=["increase", "decrease", "total"],
                                                 range=[INCREASE, DECREASE, TOTAL]), legend=None)
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("step:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("low:Q", title="MRR (USD)", scale=alt.Scale(zero=False)),
        y2="high:Q",
        color=colour,
        tooltip=[alt.Tooltip("month:N"), alt.Tooltip("step:N"), alt.Tooltip("amount:Q", format=",.2f"),
                 alt.Tooltip("level:Q", title="MRR after", format=",.2f")],
    ).properties(width=220, height=180)
    return bars.facet(facet=alt.Facet("month:N", title=None), columns=3).resolve_scale(y="independent")


def _step(month: str, order: int, label: str, start: float, end: float, kind: str) -> dict[str, object]:
    """One bar of a waterfall; a total's bar runs from the axis floor `start` to its level `end`."""
    return {"month": month, "order": order, "step": label, "low": min(start, end), "high": max(start, end),
            "amount": end if kind == "total" else end - start, "level": end, "kind": kind}


def mrr_movements(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """MRR by movement per month: new, expansion and reactivation above zero, contraction and churn below."""
    data = frame.assign(movement=frame["movement"].map(MOVEMENT_LABELS),
                        amount=frame["amount"].astype(float))
    data["signed"] = data["amount"].where(data["movement"].isin(["new", "expansion", "reactivation"]),
                                          -data["amount"])
    order = list(MOVEMENT_COLOURS)
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("yearmonth(month):O", title=None, axis=alt.Axis(format="%b %Y", labelAngle=-45)),
        y=alt.Y("sum(signed):Q", title="MRR moved in the month (USD)"),
        color=alt.Color("movement:N", scale=alt.Scale(domain=order, range=list(MOVEMENT_COLOURS.values())),
                        sort=order, title="movement"),
        order=alt.Order("movement_order:Q"),
        tooltip=[alt.Tooltip("yearmonth(month):T", title="month"), alt.Tooltip("movement:N"),
                 alt.Tooltip("amount:Q", format=",.2f", title="MRR (USD)")],
    ).transform_calculate(
        movement_order=f"indexof({order!r}, datum.movement)",
    ).properties(width=WIDTH, height=260)


def retention_trend(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """NRR and GRR over 12 months per segment (and all customers), month by month."""
    data = frame.assign(ratio=frame["ratio"].astype(float),
                        measure=frame["measure"].map({"nrr_12m": "NRR (12 months)", "grr_12m": "GRR (12 months)"}))
    base = alt.Chart(data).encode(
        x=alt.X("yearmonth(month):T", title=None),
        y=alt.Y("ratio:Q", title="retention", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False)),
        color=alt.Color("segment:N", title="segment"),
        strokeDash=alt.StrokeDash("measure:N", title="measure"),
        tooltip=[alt.Tooltip("yearmonth(month):T", title="month"), alt.Tooltip("segment:N"),
                 alt.Tooltip("measure:N"), alt.Tooltip("ratio:Q", format=".1%")],
    )
    hundred = alt.Chart(pd.DataFrame({"ratio": [1.0]})).mark_rule(color="#9e9e9e").encode(y="ratio:Q")
    return (base.mark_line(point=True) + hundred).properties(width=WIDTH, height=280)


def copurchase_pairs(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """The strongest pairs bought together, by lift, with their confidence and shared orders."""
    data = frame.assign(pair=frame["product_name"] + " + " + frame["paired_product_name"],
                        lift=frame["lift"].astype(float), confidence=frame["confidence"].astype(float))
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("lift:Q", title="lift (× more often than chance)"),
        y=alt.Y("pair:N", sort="-x", title=None, axis=alt.Axis(labelLimit=320)),
        color=alt.Color("confidence:Q", title="confidence", scale=alt.Scale(scheme="blues"),
                        legend=alt.Legend(format="%")),
        tooltip=[alt.Tooltip("pair:N"), alt.Tooltip("lift:Q", format=".2f"),
                 alt.Tooltip("confidence:Q", format=".1%"), alt.Tooltip("support:Q", format=".3%"),
                 alt.Tooltip("orders_with_both:Q", title="orders with both")],
    ).properties(width=WIDTH - 360, height=max(120, 22 * len(data)))


def upgrade_triggers(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """Today's upgrade flags by trigger, split by who acts (and the held-out and capped ones)."""
    routes = ["customer_success", "sales", "holdout (not routed)", "capped (open flag elsewhere)"]
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("sum(accounts):Q", title="flagged accounts (an account counts once per trigger)"),
        y=alt.Y("trigger_name:N", sort="-x", title=None),
        color=alt.Color("route:N", scale=alt.Scale(domain=routes,
                                                   range=["#1565c0", "#ef6c00", "#bdbdbd", "#757575"]),
                        title="route"),
        tooltip=[alt.Tooltip("trigger_name:N", title="trigger"), alt.Tooltip("route:N"),
                 alt.Tooltip("accounts:Q")],
    ).properties(width=WIDTH - 200, height=200)


def programme_lift(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """Treated minus holdout conversion rate per programme and send month, with its 95 % interval; a hollow
    point is a month whose outcome windows are still open."""
    data = frame.assign(
        programme=frame["programme"].map(PROGRAMME_LABELS),
        month=frame["send_month"].map(lambda value: value.strftime("%Y-%m")),
        difference=frame["conversion_rate_difference"].astype(float),
        lower=frame["difference_ci_lower"].astype(float),
        upper=frame["difference_ci_upper"].astype(float),
        window=frame["is_window_closed"].map({True: "closed", False: "still open"}),
    ).dropna(subset=["difference"])
    base = alt.Chart(data).encode(
        x=alt.X("month:N", title="month of send"),
        color=alt.Color("programme:N", title="programme"),
        xOffset="programme:N",
        tooltip=[alt.Tooltip("programme:N"), alt.Tooltip("month:N"), alt.Tooltip("window:N", title="window"),
                 alt.Tooltip("treated_count:Q", title="treated"), alt.Tooltip("holdout_count:Q", title="held out"),
                 alt.Tooltip("treated_conversion_rate:Q", title="treated rate", format=".1%"),
                 alt.Tooltip("holdout_conversion_rate:Q", title="holdout rate", format=".1%"),
                 alt.Tooltip("difference:Q", title="difference", format="+.1%"),
                 alt.Tooltip("lower:Q", title="95 % low", format="+.1%"),
                 alt.Tooltip("upper:Q", title="95 % high", format="+.1%")],
    )
    interval = base.mark_rule(strokeWidth=2).encode(
        y=alt.Y("lower:Q", title="treated − holdout conversion rate", axis=alt.Axis(format="%")), y2="upper:Q")
    points = base.mark_point(size=90, strokeWidth=2).encode(
        y="difference:Q",
        fill=alt.condition("datum.window == 'closed'", alt.Fill("programme:N", legend=None), alt.value("white")),
        shape=alt.Shape("window:N", title="outcome window"))
    zero = alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(color="#9e9e9e", strokeDash=[4, 4]).encode(y="zero:Q")
    return (zero + interval + points).properties(width=WIDTH - 160, height=280)


def placeholder(text: str) -> alt.TopLevelMixin:
    """A chart that says there is nothing to draw, and why."""
    return alt.Chart(pd.DataFrame({"text": [text]})).mark_text(fontSize=14, color="#616161").encode(
        text="text:N").properties(width=WIDTH - 200, height=60)
