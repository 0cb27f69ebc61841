"""Upsell: marts.upgrade_trigger_accounts on a small generated dataset, checked against plain SQL on `raw`.

The dbt unit tests pin each rule with hand-made rows; this test checks the same rules on generated data: the
signals against an independent query on the raw tables (window functions where the models use conditional
max_by aggregates), the eligibility rules, the offer, the route, and the cool-down across two as-of dates.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.conftest import AS_OF, run_dbt

NEXT_DAY = "2026-11-23"
UPSELL_MODELS = "models/intermediate/upsell models/marts/upsell"
TRIGGER_KINDS = ("near_seat_limit", "near_storage_limit", "near_api_limit", "fast_seat_growth",
                 "blocked_premium_feature")
# The defaults of dbt_project.yml's upsell vars, which the models use in these runs.
NEAR_LIMIT = 0.9
GROWTH_SHARE = 0.2
GROWTH_MIN_SEATS = 5
BLOCKED_MIN_EVENTS = 3
MIN_AGE_DAYS = 60
SALES_MIN_EXPANSION_MRR = 1000

# What upsell should flag as of AS_OF, computed from `raw` alone in a different shape from the models
# (row_number windows instead of conditional max_by aggregates; list functions for the plan ladder).
EXPECTED_SQL = f"""
with
bounds as (
    select
        cast(date '{AS_OF}' + interval 1 day as timestamp) as as_of_ts,
        cast(date '{AS_OF}' + interval 1 day as timestamp) - interval 30 day as window_start,
        cast(date '{AS_OF}' + interval 1 day as timestamp) - interval 44 day as baseline_start
),
plan_lines as (
    select s.* from raw.subscription_items as s, bounds
    where s.kind = 'plan' and s.valid_from < bounds.as_of_ts
        and (s.valid_to is null or s.valid_to >= bounds.as_of_ts)
),
eligible as (
    select l.customer_id, l.plan_id, p.family, p.tier, p.seat_limit, p.storage_limit_gb, p.api_calls_limit,
        string_split(p.features, ';') as features
    from plan_lines as l
    join raw.plans as p on p.plan_id = l.plan_id
    join raw.customers as c on c.customer_id = l.customer_id
    cross join bounds
    where l.status = 'active'
        and c.created_at <= bounds.as_of_ts - interval {MIN_AGE_DAYS} day
        and (l.valid_to is null or exists (
            select 1 from raw.subscription_items as n
            where n.subscription_id = l.subscription_id and n.kind = 'plan' and n.valid_from = l.valid_to
                and n.status = 'active'))
),
readings as (
    select e.customer_id, e.metric, e.value, e.occurred_at, e.occurred_at >= bounds.window_start as in_window,
        row_number() over (partition by e.customer_id, e.metric, e.occurred_at >= bounds.window_start
                           order by e.occurred_at desc) as newest_first,
        row_number() over (partition by e.customer_id, e.metric, e.occurred_at >= bounds.window_start
                           order by e.occurred_at) as oldest_first
    from raw.usage_events as e, bounds
    where e.metric in ('active_seats', 'storage_gb') and e.occurred_at < bounds.as_of_ts
        and e.occurred_at >= bounds.baseline_start
),
seats as (
    select customer_id,
        max(case when in_window and newest_first = 1 then value end) as latest_seats,
        coalesce(max(case when not in_window and newest_first = 1 then value end),
                 max(case when in_window and oldest_first = 1 then value end)) as start_seats
    from readings where metric = 'active_seats' group by customer_id
),
storage as (
    select customer_id, max(value) as latest_storage from readings
    where metric = 'storage_gb' and in_window and newest_first = 1 group by customer_id
),
api as (
    select e.customer_id, sum(e.value) as api_calls from raw.usage_events as e, bounds
    where e.metric = 'api_calls' and e.occurred_at >= bounds.window_start and e.occurred_at < bounds.as_of_ts
    group by e.customer_id
),
higher_features as (
    select lower_plan.plan_id, unnest(string_split(higher_plan.features, ';')) as feature
    from raw.plans as lower_plan
    join raw.plans as higher_plan on higher_plan.family = lower_plan.family and higher_plan.tier > lower_plan.tier
),
blocked as (
    select e.customer_id, e.feature, count(*) as attempts from raw.usage_events as e, bounds
    where e.metric = 'feature_blocked' and e.occurred_at >= bounds.window_start and e.occurred_at < bounds.as_of_ts
    group by e.customer_id, e.feature
),
premium_blocked as (
    select blocked.customer_id, sum(blocked.attempts) as premium_attempts,
        max(blocked.attempts) as most_attempts_at_one_feature
    from blocked
    join eligible on eligible.customer_id = blocked.customer_id
    where not list_contains(eligible.features, blocked.feature)
        and blocked.feature in (select feature from higher_features where higher_features.plan_id = eligible.plan_id)
    group by blocked.customer_id
)
select eligible.customer_id, eligible.plan_id,
    seats.latest_seats / eligible.seat_limit as seat_utilization,
    storage.latest_storage / eligible.storage_limit_gb as storage_utilization,
    api.api_calls / eligible.api_calls_limit as api_utilization,
    seats.latest_seats - seats.start_seats as seats_added,
    seats.start_seats,
    coalesce(premium_blocked.premium_attempts, 0) as premium_attempts,
    coalesce(premium_blocked.most_attempts_at_one_feature, 0) as most_attempts_at_one_feature
from eligible
left join seats on seats.customer_id = eligible.customer_id
left join storage on storage.customer_id = eligible.customer_id
left join api on api.customer_id = eligible.customer_id
left join premium_blocked on premium_blocked.customer_id = eligible.customer_id
"""


@dataclass
class UpsellRuns:
    day_one: dict[str, dict]  # customer_id -> mart row as of AS_OF
    day_two: dict[str, dict]  # as of NEXT_DAY, same input, history of AS_OF in place
    day_two_rerun: dict[str, dict]  # NEXT_DAY again
    day_two_full_refresh: dict[str, dict]  # NEXT_DAY with --full-refresh (the flag history is kept)
    day_two_history_dropped: dict[str, dict]  # NEXT_DAY after the flag history table was dropped
    day_two_candidates: dict[str, dict]  # int_upgrade_signals_evaluated flag candidates as of NEXT_DAY
    history_keys: list[tuple[str, object]]  # (customer_id, flagged_on) of the history after the rerun
    expected: dict[str, dict]  # EXPECTED_SQL: eligible accounts with their signals, as of AS_OF
    plans: dict[str, dict]


def fetch(warehouse: Path, sql: str) -> list[dict]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cursor = con.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def by_customer(rows: list[dict]) -> dict[str, dict]:
    return {row["customer_id"]: row for row in rows}


@pytest.fixture(scope="module")
def upsell_runs(loaded_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpsellRuns]:
    folder = tmp_path_factory.mktemp("upsell")
    warehouse = folder / "upsell.duckdb"
    shutil.copy(loaded_warehouse, warehouse)
    target = folder / "target"
    mart = "select * from marts.upgrade_trigger_accounts"

    run_dbt(["build", "--select", "+upgrade_trigger_accounts", "--indirect-selection", "cautious"], warehouse, target)
    day_one = by_customer(fetch(warehouse, mart))
    run_dbt(["run", "--select", UPSELL_MODELS], warehouse, target, {"as_of_date": NEXT_DAY})
    day_two = by_customer(fetch(warehouse, mart))
    day_two_candidates = by_customer(fetch(
        warehouse, "select * from intermediate.int_upgrade_signals_evaluated where is_flag_candidate"))
    run_dbt(["run", "--select", UPSELL_MODELS], warehouse, target, {"as_of_date": NEXT_DAY})
    day_two_rerun = by_customer(fetch(warehouse, mart))
    history_keys = [(row["customer_id"], row["flagged_on"]) for row in fetch(
        warehouse, "select customer_id, flagged_on from intermediate.int_upgrade_flag_history")]
    run_dbt(["run", "--select", UPSELL_MODELS, "--full-refresh"], warehouse, target, {"as_of_date": NEXT_DAY})
    day_two_full_refresh = by_customer(fetch(warehouse, mart))
    con = duckdb.connect(str(warehouse))
    con.execute("drop table intermediate.int_upgrade_flag_history")
    con.close()
    run_dbt(["run", "--select", UPSELL_MODELS], warehouse, target, {"as_of_date": NEXT_DAY})
    day_two_history_dropped = by_customer(fetch(warehouse, mart))
    yield UpsellRuns(
        day_one=day_one, day_two=day_two, day_two_rerun=day_two_rerun, day_two_full_refresh=day_two_full_refresh,
        day_two_history_dropped=day_two_history_dropped,
        day_two_candidates=day_two_candidates, history_keys=history_keys,
        expected=by_customer(fetch(warehouse, EXPECTED_SQL)),
        plans={row["plan_id"]: row for row in fetch(warehouse, "select * from raw.plans")},
    )


def expected_triggers(signals: dict) -> list[str]:
    def at_least(value: float | None, threshold: float) -> bool:
        return value is not None and value >= threshold

    added, start = signals["seats_added"], signals["start_seats"]
    fired = {
        "near_seat_limit": at_least(signals["seat_utilization"], NEAR_LIMIT),
        "near_storage_limit": at_least(signals["storage_utilization"], NEAR_LIMIT),
        "near_api_limit": at_least(signals["api_utilization"], NEAR_LIMIT),
        "fast_seat_growth": added is not None and added >= GROWTH_MIN_SEATS
        and (start <= 0 or added / start >= GROWTH_SHARE),
        "blocked_premium_feature": signals["most_attempts_at_one_feature"] >= BLOCKED_MIN_EVENTS,
    }
    return [kind for kind in TRIGGER_KINDS if fired[kind]]


@pytest.mark.slow
def test_flags_exactly_the_eligible_accounts_whose_signals_cross_a_threshold(upsell_runs: UpsellRuns) -> None:
    expected = {customer_id: expected_triggers(signals) for customer_id, signals in upsell_runs.expected.items()}
    expected = {customer_id: triggers for customer_id, triggers in expected.items() if triggers}
    flagged = {customer_id: list(row["triggers"]) for customer_id, row in upsell_runs.day_one.items()}
    assert len(flagged) >= 20, "the sample should flag a few dozen accounts"
    assert flagged == expected
    fired = {kind for triggers in flagged.values() for kind in triggers}
    assert {"near_seat_limit", "fast_seat_growth", "blocked_premium_feature"} <= fired


@pytest.mark.slow
def test_signals_match_plain_sql_on_raw(upsell_runs: UpsellRuns) -> None:
    for customer_id, row in upsell_runs.day_one.items():
        signals = upsell_runs.expected[customer_id]
        assert row["current_plan_id"] == signals["plan_id"]
        for column in ("seat_utilization", "storage_utilization", "api_utilization"):
            if signals[column] is None:
                assert row[column] is None, (customer_id, column)
            else:
                assert row[column] == pytest.approx(signals[column], rel=1e-12), (customer_id, column)
        assert row["seats_added_30d"] == signals["seats_added"], customer_id
        assert row["blocked_feature_events_30d"] == signals["premium_attempts"], customer_id


@pytest.mark.slow
def test_offers_climb_the_ladder_and_routes_follow_the_rule(upsell_runs: UpsellRuns) -> None:
    plans = upsell_runs.plans
    custom_deals = 0
    for customer_id, row in upsell_runs.day_one.items():
        current = plans[row["current_plan_id"]]
        top_tier = max(plan["tier"] for plan in plans.values() if plan["family"] == current["family"])
        assert row["is_top_tier"] == (current["tier"] == top_tier), customer_id
        if row["recommended_plan_id"] is None:
            custom_deals += 1
            assert row["needs_custom_deal"] and row["route"] == "sales", customer_id
            assert row["expected_expansion_mrr"] is None, customer_id
            assert row["evidence"].endswith("custom deal."), customer_id
        else:
            offer = plans[row["recommended_plan_id"]]
            assert offer["family"] == current["family"] and offer["tier"] > current["tier"], customer_id
            for feature in row["blocked_premium_features"] or []:
                assert feature in offer["features"].split(";"), (customer_id, feature)
            expected_route = ("sales" if row["segment"] == "enterprise"
                              or row["expected_expansion_mrr"] > SALES_MIN_EXPANSION_MRR else "customer_success")
            assert row["route"] == expected_route, customer_id
        assert row["is_top_tier"] <= (row["recommended_plan_id"] is None), customer_id
        assert 0 <= row["priority_score"] <= 100, customer_id
    assert custom_deals > 0, "the sample has accounts on a top tier with triggers"


@pytest.mark.slow
def test_cool_down_suppresses_repeat_flags_on_the_next_day(upsell_runs: UpsellRuns) -> None:
    day_one, day_two, candidates = upsell_runs.day_one, upsell_runs.day_two, upsell_runs.day_two_candidates
    held_back = [customer_id for customer_id in day_one if customer_id in candidates and customer_id not in day_two]
    assert len(held_back) >= len(day_one) // 2, "most of yesterday's flags are still candidates, held back"
    for customer_id in held_back:
        assert set(candidates[customer_id]["triggers"]) <= set(day_one[customer_id]["triggers"]), customer_id
    for customer_id, row in day_two.items():
        if customer_id in day_one:
            assert row["is_cooldown_broken"] and row["last_flagged_on"].isoformat() == AS_OF, customer_id
            assert not set(row["triggers"]) <= set(day_one[customer_id]["triggers"]), customer_id
        else:
            assert not row["is_cooldown_broken"], customer_id
    assert set(day_two) == {customer_id for customer_id in candidates
                            if customer_id not in day_one
                            or not set(candidates[customer_id]["triggers"]) <= set(day_one[customer_id]["triggers"])}


@pytest.mark.slow
def test_reruns_and_full_refresh_keep_the_history_and_dropping_it_resets_it(upsell_runs: UpsellRuns) -> None:
    assert upsell_runs.day_two_rerun == upsell_runs.day_two
    assert len(upsell_runs.history_keys) == len(set(upsell_runs.history_keys))
    assert len(upsell_runs.history_keys) == len(upsell_runs.day_one) + len(upsell_runs.day_two)
    # --full-refresh rebuilds what is derived from the landing files; yesterday's flags are an input of today's
    assert upsell_runs.day_two_full_refresh == upsell_runs.day_two
    assert set(upsell_runs.day_two_history_dropped) == set(upsell_runs.day_two_candidates)
    assert len(upsell_runs.day_two_candidates) > len(upsell_runs.day_two)
