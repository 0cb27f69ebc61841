{#- The persisted history of upgrade flags, the memory the cool-down needs: one row per customer per as-of
    date on which the account was flagged, appended by each run.

    A run for as_of_date D first deletes D's rows (the pre-hook), then reads only the flags of earlier dates
    from the table itself ({{ this }}), so re-running D is idempotent and a run never sees its own output.
    A flag candidate (int_upgrade_signals_evaluated.is_flag_candidate) is flagged on D unless its last flag
    is less than `upsell_cooldown_days` days before D (flagged_on > D - cool-down) and every trigger it has
    now was already in that last flag's trigger set. A trigger the last flag did not have breaks the
    cool-down. With 30 days: flagged on Nov 1, quiet through Nov 30 on the same triggers, flaggable again on
    Dec 1.

    Holdout and route cap, applied after the cool-down so that held-out and capped flags keep the same cadence
    as routed ones: a customer in the upsell holdout (macros/holdout.sql with `upsell_holdout_share`, a stable
    hash of 'upsell:<customer_id>') is flagged and recorded here but never synced; and a flag that breaks a
    cool-down while the account's open flag (the latest uncapped flag inside the cool-down) went to the other
    route is capped (suppressed_reason open_flag_other_route): an account is never worked by sales and by
    customer success for the same open flag. Capped flags count for the cool-down like any other.

    Runs are meant to move forward in time (the daily job). `dbt build --full-refresh` (or a first run)
    rebuilds the table from the current run alone: the history, and with it every cool-down, is reset. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='append_new_columns',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where flagged_on = {{ as_of_date() }}{% endif %}"
    )
}}
{%- set cooldown_days = var('upsell_cooldown_days') | int -%}
{%- set holdout_share = var('upsell_holdout_share') | float -%}
{#- A history table from before the route cap has no is_capped column yet (on_schema_change appends it after
    this query has run): its flags count as uncapped. (A unit test's `this` is a fixture of the current shape.) -#}
{%- set history_has_is_capped = true -%}
{%- if execute and is_incremental() and this is not string -%}
    {%- set history_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- set history_has_is_capped = 'is_capped' in history_columns -%}
{%- endif %}

with

evaluated_accounts as (
    select * from {{ ref('int_upgrade_signals_evaluated') }}
),

{# The flags of earlier as-of dates still inside the cool-down; none on a first run or a full refresh. #}
earlier_flags as (
    select
        customer_id,
        {% if is_incremental() -%}
            flagged_on,
        {%- else -%}
            cast(null as date) as flagged_on,
        {%- endif %}
        is_near_seat_limit,
        is_near_storage_limit,
        is_near_api_limit,
        is_fast_seat_growth,
        is_blocked_premium_feature,
        route,
        {% if is_incremental() and history_has_is_capped -%}
            coalesce(is_capped, false) as is_capped
        {%- else -%}
            false as is_capped
        {%- endif %}
    {% if is_incremental() -%}
        from {{ this }}
        where
            flagged_on < {{ as_of_date() }}
            and flagged_on > {{ dbt.dateadd('day', -1 * cooldown_days, as_of_date()) }}
    {%- else -%}
        from evaluated_accounts
        where 1 = 0
    {%- endif %}
),

last_flags_in_cooldown as (
    select
        customer_id,
        flagged_on,
        is_near_seat_limit,
        is_near_storage_limit,
        is_near_api_limit,
        is_fast_seat_growth,
        is_blocked_premium_feature,
        row_number() over (partition by customer_id order by flagged_on desc) as recency_rank
    from earlier_flags
),

{# The route of the account's open flag: its latest uncapped flag inside the cool-down. #}
open_flag_routes as (
    select
        customer_id,
        route,
        row_number() over (partition by customer_id order by flagged_on desc) as recency_rank
    from earlier_flags
    where not is_capped
),

flag_candidates as (
    select * from evaluated_accounts
    where is_flag_candidate
),

cooldown_checked as (
    select
        flag_candidates.*,
        last_flags_in_cooldown.flagged_on as last_flagged_on,
        open_flag_routes.route as open_flag_route,
        last_flags_in_cooldown.customer_id is not null as is_in_cooldown,
        (flag_candidates.is_near_seat_limit and not coalesce(last_flags_in_cooldown.is_near_seat_limit, false))
        or (flag_candidates.is_near_storage_limit and not coalesce(last_flags_in_cooldown.is_near_storage_limit, false))
        or (flag_candidates.is_near_api_limit and not coalesce(last_flags_in_cooldown.is_near_api_limit, false))
        or (flag_candidates.is_fast_seat_growth and not coalesce(last_flags_in_cooldown.is_fast_seat_growth, false))
        or (
            flag_candidates.is_blocked_premium_feature
            and not coalesce(last_flags_in_cooldown.is_blocked_premium_feature, false)
        ) as has_new_trigger
    from flag_candidates
    left join last_flags_in_cooldown
        on
            flag_candidates.customer_id = last_flags_in_cooldown.customer_id
            and last_flags_in_cooldown.recency_rank = 1
    left join open_flag_routes
        on
            flag_candidates.customer_id = open_flag_routes.customer_id
            and open_flag_routes.recency_rank = 1
),

assigned as (
    select
        *,
        {{ is_held_out('upsell', 'customer_id', holdout_share) }} as is_holdout,
        coalesce(open_flag_route <> route, false) as is_capped
    from cooldown_checked
    where
        not is_in_cooldown
        or has_new_trigger
),

final as (
    select
        customer_id,
        {{ as_of_date() }} as flagged_on,
        {{ as_of_ts() }} as flagged_at,
        segment,
        current_plan_id,
        current_plan_name,
        plan_family,
        current_tier,
        is_top_tier,
        quantity,
        recommended_plan_id,
        recommended_plan_name,
        recommended_tier,
        needs_custom_deal,
        triggers,
        evidence,
        is_near_seat_limit,
        is_near_storage_limit,
        is_near_api_limit,
        is_fast_seat_growth,
        is_blocked_premium_feature,
        blocked_premium_features,
        latest_active_seats,
        window_start_active_seats,
        seat_limit,
        storage_limit_gb,
        api_calls_limit,
        seat_utilization,
        storage_utilization,
        api_utilization,
        seats_added_30d,
        latest_storage_gb,
        api_calls_30d,
        blocked_feature_events_30d,
        current_mrr,
        current_plan_mrr,
        recommended_plan_mrr,
        expected_expansion_mrr,
        utilisation_component,
        mrr_at_stake_component,
        freshness_component,
        priority_score,
        route,
        last_signal_at,
        last_flagged_on,
        is_in_cooldown and has_new_trigger as is_cooldown_broken,
        is_holdout,
        is_capped,
        open_flag_route,
        case
            when is_capped then 'open_flag_other_route'
            when is_holdout then 'holdout'
        end as suppressed_reason
    from assigned
)

select * from final
