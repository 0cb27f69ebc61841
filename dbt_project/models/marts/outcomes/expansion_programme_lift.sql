{#- Did the offers work? Per programme (cross_sell: e-mails, one per customer and as-of date, from the
    recommendations of cross_sell_outcomes; upsell: upgrade flags, from upgrade_outcomes) and month of send: the
    treated and holdout groups, their conversion rates (ordered a recommended product / moved to a higher tier
    within the outcome window), the difference
    treated - holdout with its 95 % interval by Newcombe's hybrid score method (macros/outcomes/
    two_proportion_interval.sql), and the incremental conversions, revenue (cross-sell) or MRR (upsell).

    The groups hold the measured rows (is_measured): capped rows, of either group, are left out of both and
    counted in capped_count; upsell flags on the top tier (which cannot move up) are counted in
    excluded_count. Incremental value = treated_count x (treated value per row - holdout value per row): what
    the treated rows brought beyond what the same number of held-out rows did. The cross-sell unit is the
    e-mail, not the recommendation: the holdout is drawn per customer, and the products of one e-mail are bought
    or ignored together, so only e-mails are independent draws for the interval. A month with any window still
    open (open_window_count > 0, is_window_closed false) is still moving: its rates count what has happened
    so far. -#}
{%- set cross_sell_window_days = var('cross_sell_outcome_window_days') | int -%}
{%- set upsell_window_days = var('upsell_outcome_window_days') | int -%}
with

cross_sell_outcomes as (
    select * from {{ ref('cross_sell_outcomes') }}
),

upgrade_outcomes as (
    select * from {{ ref('upgrade_outcomes') }}
),

{# One row per e-mail: a customer's recommendations of one as-of date share their holdout, cap and window. #}
cross_sell_emails as (
    select
        recommended_on,
        customer_id,
        max(window_closes_at) as window_closes_at,
        sum(revenue_usd) as revenue_usd,
        max(case when is_holdout then 1 else 0 end) = 1 as is_holdout,
        max(case when is_capped then 1 else 0 end) = 1 as is_capped,
        max(case when is_measured then 1 else 0 end) = 1 as is_measured,
        max(case when has_converted then 1 else 0 end) = 1 as has_converted,
        min(case when is_window_closed then 1 else 0 end) = 1 as is_window_closed
    from cross_sell_outcomes
    group by recommended_on, customer_id
),

programme_rows as (
    select
        is_holdout,
        is_capped,
        is_measured,
        has_converted,
        is_window_closed,
        window_closes_at,
        revenue_usd,
        'cross_sell' as programme,
        cast({{ dbt.date_trunc('month', 'recommended_on') }} as date) as send_month,
        {{ cross_sell_window_days }} as window_days,
        cast(null as decimal(18, 2)) as mrr_gained_usd
    from cross_sell_emails
    union all
    select
        is_holdout,
        is_capped,
        is_measured,
        has_upgraded as has_converted,
        is_window_closed,
        window_closes_at,
        cast(null as decimal(18, 2)) as revenue_usd,
        'upsell' as programme,
        cast({{ dbt.date_trunc('month', 'flagged_on') }} as date) as send_month,
        {{ upsell_window_days }} as window_days,
        mrr_gained_usd
    from upgrade_outcomes
),

groups as (
    select
        programme,
        send_month,
        cast(sum(case when is_measured and not is_holdout then 1 else 0 end) as bigint) as treated_count,
        cast(sum(case when is_measured and is_holdout then 1 else 0 end) as bigint) as holdout_count,
        cast(sum(case when is_capped then 1 else 0 end) as bigint) as capped_count,
        cast(sum(case when not is_capped and not is_measured then 1 else 0 end) as bigint) as excluded_count,
        cast(sum(case when is_measured and not is_holdout and has_converted then 1 else 0 end) as bigint)
            as treated_conversions,
        cast(sum(case when is_measured and is_holdout and has_converted then 1 else 0 end) as bigint)
            as holdout_conversions,
        cast(sum(case when is_measured and not is_window_closed then 1 else 0 end) as bigint) as open_window_count,
        sum(case when is_measured and not is_holdout then revenue_usd end) as treated_revenue_usd,
        sum(case when is_measured and is_holdout then revenue_usd end) as holdout_revenue_usd,
        sum(case when is_measured and not is_holdout then mrr_gained_usd end) as treated_mrr_gained_usd,
        sum(case when is_measured and is_holdout then mrr_gained_usd end) as holdout_mrr_gained_usd,
        max(window_days) as window_days,
        max(window_closes_at) as last_window_closes_at
    from programme_rows
    group by programme, send_month
),

rates as (
    select
        *,
        cast(treated_conversions as double) / nullif(treated_count, 0) as treated_rate,
        cast(holdout_conversions as double) / nullif(holdout_count, 0) as holdout_rate,
        {{ wilson_score_bound('treated_conversions', 'treated_count', -1) }} as treated_rate_lower,
        {{ wilson_score_bound('treated_conversions', 'treated_count', 1) }} as treated_rate_upper,
        {{ wilson_score_bound('holdout_conversions', 'holdout_count', -1) }} as holdout_rate_lower,
        {{ wilson_score_bound('holdout_conversions', 'holdout_count', 1) }} as holdout_rate_upper
    from groups
),

intervals as (
    select
        *,
        treated_rate - holdout_rate as rate_difference,
        {{ newcombe_difference_bound(
            'treated_rate', 'treated_rate_lower', 'treated_rate_upper',
            'holdout_rate', 'holdout_rate_lower', 'holdout_rate_upper', -1
        ) }} as difference_lower,
        {{ newcombe_difference_bound(
            'treated_rate', 'treated_rate_lower', 'treated_rate_upper',
            'holdout_rate', 'holdout_rate_lower', 'holdout_rate_upper', 1
        ) }} as difference_upper
    from rates
),

presented as (
    select
        *,
        case when programme = 'cross_sell' then 'e-mail' else 'upgrade flag' end as unit,
        round(treated_rate, 6) as treated_conversion_rate,
        round(holdout_rate, 6) as holdout_conversion_rate,
        round(rate_difference, 6) as conversion_rate_difference,
        round(difference_lower, 6) as difference_ci_lower,
        round(difference_upper, 6) as difference_ci_upper,
        coalesce(difference_lower > 0 or difference_upper < 0, false) as is_difference_significant,
        round(rate_difference * treated_count, 2) as incremental_conversions,
        treated_revenue_usd
        - treated_count * cast(holdout_revenue_usd as double) / nullif(holdout_count, 0) as incremental_revenue,
        treated_mrr_gained_usd
        - treated_count * cast(holdout_mrr_gained_usd as double) / nullif(holdout_count, 0) as incremental_mrr,
        open_window_count = 0 as is_window_closed
    from intervals
),

final as (
    select
        programme,
        send_month,
        unit,
        window_days,
        treated_count,
        holdout_count,
        capped_count,
        excluded_count,
        treated_conversions,
        holdout_conversions,
        treated_conversion_rate,
        holdout_conversion_rate,
        conversion_rate_difference,
        difference_ci_lower,
        difference_ci_upper,
        is_difference_significant,
        incremental_conversions,
        cast(treated_revenue_usd as decimal(18, 2)) as treated_revenue_usd,
        cast(holdout_revenue_usd as decimal(18, 2)) as holdout_revenue_usd,
        cast(incremental_revenue as decimal(18, 2)) as incremental_revenue_usd,
        cast(treated_mrr_gained_usd as decimal(18, 2)) as treated_mrr_gained_usd,
        cast(holdout_mrr_gained_usd as decimal(18, 2)) as holdout_mrr_gained_usd,
        cast(incremental_mrr as decimal(18, 2)) as incremental_mrr_usd,
        open_window_count,
        is_window_closed,
        last_window_closes_at
    from presented
)

select * from final
