{#- The customers with at least one upgrade trigger at the as-of instant, suppressed or not: usage against the
    limits of the plan in force, the triggers, why the account must stay quiet (if it must), the plan to
    offer, the evidence in words, the priority and the route. The cool-down is applied downstream, in
    int_upgrade_flag_history, because it needs the flags of earlier runs.

    Triggers (each a threshold var; utilisation = usage / plan limit, NULL limit = unlimited = never near):
      near_seat_limit           latest active_seats / seat_limit        >= upsell_near_limit_threshold
      near_storage_limit        latest storage_gb / storage_limit_gb    >= upsell_near_limit_threshold
      near_api_limit            api_calls in the window / api_calls_limit >= upsell_near_limit_threshold
      fast_seat_growth          seats_added_30d >= upsell_seat_growth_min_seats and
                                seats_added_30d / seats at the window's start >= upsell_seat_growth_threshold
      blocked_premium_feature   some feature that a higher tier of the family includes (and the current plan
                                does not) was blocked >= upsell_blocked_feature_min_events times in the window
    Ratios are compared as divisions (not usage >= threshold x limit) so an account exactly at a threshold
    fires whatever the floating-point rounding.

    Offer: the first plan of the family's higher tiers (lowest tier first, the current billing period before
    the other, then plan_id) that lifts every triggered limit, i.e. would not itself be near the limit at
    today's usage (unlimited always lifts), has more seats than today's plan when seats grow fast, and includes
    every repeatedly blocked feature. None qualifies (the top tier, or usage beyond every tier): no
    recommended plan, the account needs a custom deal and routes to sales. -#}
{%- set window_days = var('upsell_signal_window_days') | int -%}
{%- set near_limit = 'cast(' ~ var('upsell_near_limit_threshold') ~ ' as double)' -%}
{%- set growth_share = 'cast(' ~ var('upsell_seat_growth_threshold') ~ ' as double)' -%}
{%- set growth_min_seats = var('upsell_seat_growth_min_seats') -%}
{%- set blocked_min_events = var('upsell_blocked_feature_min_events') | int -%}
{%- set min_age_days = var('upsell_min_account_age_days') | int -%}
{%- set sales_min_mrr = var('upsell_sales_min_expansion_mrr') -%}
{%- set weights = var('upsell_priority_weights') -%}
{%- set full_mrr = var('upsell_priority_full_mrr') -%}
{%- set string_type = dbt.type_string() -%}

with

customer_plans as (
    select * from {{ ref('int_customer_plans_resolved') }}
),

usage_signals as (
    select * from {{ ref('int_usage_events_pivoted_to_customers') }}
),

premium_blocked_features as (
    select * from {{ ref('int_premium_features_blocked') }}
),

plans as (
    select * from {{ ref('stg_raw__plans') }}
),

plan_upgrade_paths as (
    select * from {{ ref('int_plan_upgrade_paths') }}
),

plans_with_upgrades as (
    select distinct plan_id from plan_upgrade_paths
),

accounts as (
    select
        customer_plans.customer_id,
        customer_plans.segment,
        customer_plans.customer_created_at,
        customer_plans.lifecycle_state,
        customer_plans.plan_id,
        customer_plans.quantity,
        customer_plans.plan_mrr_usd,
        customer_plans.current_mrr_usd,
        plans.name as current_plan_name,
        plans.family as plan_family,
        plans.tier as current_tier,
        plans.seat_limit,
        plans.storage_limit_gb,
        plans.api_calls_limit,
        usage_signals.latest_active_seats,
        usage_signals.latest_active_seats_at,
        usage_signals.window_start_active_seats,
        usage_signals.seats_added_30d,
        usage_signals.latest_storage_gb,
        usage_signals.latest_storage_gb_at,
        usage_signals.api_calls_30d,
        usage_signals.latest_api_calls_at,
        plans_with_upgrades.plan_id is null as is_top_tier,
        usage_signals.latest_active_seats / nullif(plans.seat_limit, 0) as seat_utilization,
        usage_signals.latest_storage_gb / nullif(plans.storage_limit_gb, 0) as storage_utilization,
        usage_signals.api_calls_30d / nullif(plans.api_calls_limit, 0) as api_utilization
    from customer_plans
    left join plans
        on customer_plans.plan_id = plans.plan_id
    left join plans_with_upgrades
        on customer_plans.plan_id = plans_with_upgrades.plan_id
    left join usage_signals
        on customer_plans.customer_id = usage_signals.customer_id
),

blocked_totals as (
    select
        customer_id,
        sum(blocked_events_30d) as blocked_feature_events_30d
    from premium_blocked_features
    group by customer_id
),

repeatedly_blocked_features as (
    select * from premium_blocked_features
    where blocked_events_30d >= {{ blocked_min_events }}
),

{# Features most blocked first, then by name, so the text is the same on every run. -#}
repeated_block_summary as (
    select
        customer_id,
        max(last_blocked_at) as last_repeated_block_at,
        {{ dbt.listagg("feature", "';'", "order by blocked_events_30d desc, feature") }}
            as repeatedly_blocked_features_text,
        {{ dbt.listagg(
            "cast(blocked_events_30d as " ~ string_type ~ ") || ' blocked attempts at ' || feature
                || ' in " ~ window_days ~ " days, included in ' || first_plan_including_name",
            "'; '",
            "order by blocked_events_30d desc, feature"
        ) }} as blocked_evidence
    from repeatedly_blocked_features
    group by customer_id
),

evaluated as (
    select
        accounts.*,
        coalesce(blocked_totals.blocked_feature_events_30d, 0) as blocked_feature_events_30d,
        repeated_block_summary.repeatedly_blocked_features_text,
        repeated_block_summary.blocked_evidence,
        repeated_block_summary.last_repeated_block_at,
        coalesce(accounts.seat_utilization >= {{ near_limit }}, false) as is_near_seat_limit,
        coalesce(accounts.storage_utilization >= {{ near_limit }}, false) as is_near_storage_limit,
        coalesce(accounts.api_utilization >= {{ near_limit }}, false) as is_near_api_limit,
        coalesce(
            accounts.seats_added_30d >= {{ growth_min_seats }}
            and (
                accounts.window_start_active_seats <= 0
                or accounts.seats_added_30d / accounts.window_start_active_seats >= {{ growth_share }}
            ),
            false
        ) as is_fast_seat_growth,
        repeated_block_summary.customer_id is not null as is_blocked_premium_feature
    from accounts
    left join blocked_totals
        on accounts.customer_id = blocked_totals.customer_id
    left join repeated_block_summary
        on accounts.customer_id = repeated_block_summary.customer_id
),

{# From here on only accounts with at least one trigger: the expensive offer, evidence and score are
    computed for them alone. -#}
triggered as (
    select
        *,
        case when is_near_seat_limit then 1 else 0 end
        + case when is_near_storage_limit then 1 else 0 end
        + case when is_near_api_limit then 1 else 0 end
        + case when is_fast_seat_growth then 1 else 0 end
        + case when is_blocked_premium_feature then 1 else 0 end as trigger_count
    from evaluated
    where
        is_near_seat_limit
        or is_near_storage_limit
        or is_near_api_limit
        or is_fast_seat_growth
        or is_blocked_premium_feature
),

classified as (
    select
        *,
        case
            when lifecycle_state = 'canceled' then 'churned'
            when lifecycle_state = 'paused' then 'paused'
            when lifecycle_state = 'cancelling' then 'cancelling'
            when lifecycle_state = 'trialing' then 'trialing'
            when
                customer_created_at is null
                or customer_created_at > {{ dbt.dateadd('day', -1 * min_age_days, as_of_ts()) }}
                then 'too_young'
        end as suppression_reason
    from triggered
),

{# Each triggered account against each higher plan of its family. -#}
upgrade_options as (
    select
        classified.customer_id,
        plan_upgrade_paths.higher_plan_id,
        plan_upgrade_paths.higher_plan_name,
        plan_upgrade_paths.higher_tier,
        plan_upgrade_paths.higher_monthly_price_usd,
        plan_upgrade_paths.ladder_rank,
        (
            not classified.is_near_seat_limit
            or plan_upgrade_paths.higher_seat_limit is null
            or classified.latest_active_seats / nullif(plan_upgrade_paths.higher_seat_limit, 0) < {{ near_limit }}
        )
        and (
            not classified.is_near_storage_limit
            or plan_upgrade_paths.higher_storage_limit_gb is null
            or classified.latest_storage_gb / nullif(plan_upgrade_paths.higher_storage_limit_gb, 0) < {{ near_limit }}
        )
        and (
            not classified.is_near_api_limit
            or plan_upgrade_paths.higher_api_calls_limit is null
            or classified.api_calls_30d / nullif(plan_upgrade_paths.higher_api_calls_limit, 0) < {{ near_limit }}
        )
        and (
            not classified.is_fast_seat_growth
            or plan_upgrade_paths.higher_seat_limit is null
            or plan_upgrade_paths.higher_seat_limit > classified.seat_limit
        ) as lifts_triggered_limits
    from classified
    inner join plan_upgrade_paths
        on classified.plan_id = plan_upgrade_paths.plan_id
),

option_feature_gaps as (
    select
        repeatedly_blocked_features.customer_id,
        plan_upgrade_paths.higher_plan_id,
        sum(
            case
                when array_contains(plan_upgrade_paths.higher_feature_list, repeatedly_blocked_features.feature) then 0
                else 1
            end
        ) as missing_feature_count
    from repeatedly_blocked_features
    inner join plan_upgrade_paths
        on repeatedly_blocked_features.plan_id = plan_upgrade_paths.plan_id
    group by
        repeatedly_blocked_features.customer_id,
        plan_upgrade_paths.higher_plan_id
),

qualifying_options as (
    select
        upgrade_options.*,
        row_number() over (
            partition by upgrade_options.customer_id
            order by upgrade_options.ladder_rank
        ) as offer_rank
    from upgrade_options
    left join option_feature_gaps
        on
            upgrade_options.customer_id = option_feature_gaps.customer_id
            and upgrade_options.higher_plan_id = option_feature_gaps.higher_plan_id
    where
        upgrade_options.lifts_triggered_limits
        and coalesce(option_feature_gaps.missing_feature_count, 0) = 0
),

recommendations as (
    select
        customer_id,
        higher_plan_id as recommended_plan_id,
        higher_plan_name as recommended_plan_name,
        higher_tier as recommended_tier,
        higher_monthly_price_usd as recommended_monthly_price_usd
    from qualifying_options
    where offer_rank = 1
),

offered as (
    select
        classified.*,
        recommendations.recommended_plan_id,
        recommendations.recommended_plan_name,
        recommendations.recommended_tier,
        cast(recommendations.recommended_monthly_price_usd * classified.quantity as decimal(18, 2))
            as recommended_plan_mrr,
        {#- Rounded to the cent before the route compares it, so the route agrees with the amount shown. -#}
        cast(recommendations.recommended_monthly_price_usd * classified.quantity as decimal(18, 2))
        - cast(classified.plan_mrr_usd as decimal(18, 2)) as expected_expansion_mrr,
        case
            when classified.is_near_seat_limit or classified.is_fast_seat_growth
                then classified.latest_active_seats_at
        end as seat_signal_at,
        case when classified.is_near_storage_limit then classified.latest_storage_gb_at end as storage_signal_at,
        case when classified.is_near_api_limit then classified.latest_api_calls_at end as api_signal_at,
        case when classified.is_blocked_premium_feature then classified.last_repeated_block_at end as blocked_signal_at
    from classified
    left join recommendations
        on classified.customer_id = recommendations.customer_id
),

{# priority_score (0-100) = 100 x (w_utilisation x U + w_mrr_at_stake x M + w_freshness x F), weights from
    the upsell_priority_weights var:
      U  the highest utilisation of seats, storage and API calls, capped at 1;
      M  MRR at stake on a log scale, ln(1 + S) / ln(1 + upsell_priority_full_mrr) capped at 1, where S is
         the expected expansion MRR, or today's plan MRR when only a custom deal fits (no recommended plan);
      F  freshness of the newest triggering signal: 1 at the as-of instant, falling linearly to 0 at the
         window's length. -#}
scored as (
    select
        *,
        least(
            1.0,
            greatest(coalesce(seat_utilization, 0), coalesce(storage_utilization, 0), coalesce(api_utilization, 0))
        ) as utilisation_component,
        least(
            1.0,
            ln(1 + greatest(cast(coalesce(expected_expansion_mrr, plan_mrr_usd, 0) as double), 0))
            / ln(1 + cast({{ full_mrr }} as double))
        ) as mrr_at_stake_component,
        greatest(seat_signal_at, storage_signal_at, api_signal_at, blocked_signal_at) as last_signal_at
    from offered
),

freshness as (
    select
        *,
        greatest(
            0.0,
            1.0
            - cast(
                {{ dbt.datediff('last_signal_at', as_of_ts(), 'second') }}
                as double
            ) / ({{ window_days }} * 86400.0)
        ) as freshness_component
    from scored
),

described as (
    select
        *,
        {{ split_list("concat_ws(';',
            case when is_near_seat_limit then 'near_seat_limit' end,
            case when is_near_storage_limit then 'near_storage_limit' end,
            case when is_near_api_limit then 'near_api_limit' end,
            case when is_fast_seat_growth then 'fast_seat_growth' end,
            case when is_blocked_premium_feature then 'blocked_premium_feature' end
        )", ';') }} as triggers,
        case when is_blocked_premium_feature then {{ split_list('repeatedly_blocked_features_text', ';') }} end
            as blocked_premium_features,
        {#- Percentages are floored (macros/upsell/evidence_text.sql: 249 of 250 seats reads 99 %). -#}
        concat_ws(
            '; ',
            case
                when is_near_seat_limit then
                    {{ whole_number_text('latest_active_seats') }} || ' of '
                    || cast(seat_limit as {{ string_type }}) || ' seats in use ('
                    || {{ floored_percent_text('seat_utilization') }} || ' %)'
            end,
            case
                when is_near_storage_limit then
                    cast(cast(round(latest_storage_gb, 1) as decimal(18, 1)) as {{ string_type }}) || ' of '
                    || cast(cast(round(storage_limit_gb, 1) as decimal(18, 1)) as {{ string_type }})
                    || ' GB of storage in use ('
                    || {{ floored_percent_text('storage_utilization') }} || ' %)'
            end,
            case
                when is_near_api_limit then
                    {{ whole_number_text('api_calls_30d') }} || ' of '
                    || cast(api_calls_limit as {{ string_type }})
                    || ' monthly API calls used in {{ window_days }} days ('
                    || {{ floored_percent_text('api_utilization') }} || ' %)'
            end,
            case
                when is_fast_seat_growth then
                    {{ whole_number_text('seats_added_30d') }} || ' seats added in {{ window_days }} days ('
                    || {{ whole_number_text('window_start_active_seats') }} || ' to '
                    || {{ whole_number_text('latest_active_seats') }}
                    || case
                        when window_start_active_seats > 0
                            then
                                ', +'
                                || {{ floored_percent_text('seats_added_30d / window_start_active_seats') }}
                                || ' %'
                        else ''
                    end || ')'
            end,
            blocked_evidence,
            case
                when recommended_plan_id is null and is_top_tier then
                    'already on the top tier (' || current_plan_name || '): custom deal'
            end,
            case
                when recommended_plan_id is null and not is_top_tier then
                    'no higher ' || plan_family || ' plan covers this usage: custom deal'
            end
        ) || '.' as evidence
    from freshness
),

final as (
    select
        customer_id,
        segment,
        customer_created_at,
        lifecycle_state,
        suppression_reason,
        suppression_reason is null as is_flag_candidate,
        plan_id as current_plan_id,
        current_plan_name,
        plan_family,
        current_tier,
        is_top_tier,
        quantity,
        seat_limit,
        storage_limit_gb,
        api_calls_limit,
        latest_active_seats,
        window_start_active_seats,
        seats_added_30d,
        latest_storage_gb,
        api_calls_30d,
        seat_utilization,
        storage_utilization,
        api_utilization,
        blocked_feature_events_30d,
        blocked_premium_features,
        is_near_seat_limit,
        is_near_storage_limit,
        is_near_api_limit,
        is_fast_seat_growth,
        is_blocked_premium_feature,
        trigger_count,
        triggers,
        evidence,
        recommended_plan_id,
        recommended_plan_name,
        recommended_tier,
        recommended_plan_id is null as needs_custom_deal,
        cast(current_mrr_usd as decimal(18, 2)) as current_mrr,
        cast(plan_mrr_usd as decimal(18, 2)) as current_plan_mrr,
        recommended_plan_mrr,
        expected_expansion_mrr,
        last_signal_at,
        round(utilisation_component, 4) as utilisation_component,
        round(mrr_at_stake_component, 4) as mrr_at_stake_component,
        round(freshness_component, 4) as freshness_component,
        round(
            100 * (
                {{ weights['utilisation'] }} * utilisation_component
                + {{ weights['mrr_at_stake'] }} * mrr_at_stake_component
                + {{ weights['freshness'] }} * freshness_component
            ),
            1
        ) as priority_score,
        case
            when segment = 'enterprise' then 'sales'
            when recommended_plan_id is null then 'sales'
            when expected_expansion_mrr > {{ sales_min_mrr }} then 'sales'
            else 'customer_success'
        end as route
    from described
)

select * from final
