{#- Fails with every upgrade outcome whose upgrade lies outside its window (at or before the flag, at or after
    the window's close, or after the as-of instant), that does not climb to a higher tier, or that gains MRR
    without an upgrade. -#}
{{ config(meta={'dagster': {'ref': {'name': 'upgrade_outcomes'}}}) }}
{%- set window_days = var('upsell_outcome_window_days') | int -%}

with

upgrade_outcomes as (
    select * from {{ ref('upgrade_outcomes') }}
),

final as (
    select
        flagged_on,
        customer_id,
        flagged_at,
        window_closes_at,
        upgraded_at,
        current_tier,
        upgraded_to_tier,
        mrr_gained_usd
    from upgrade_outcomes
    where
        window_closes_at <> {{ dbt.dateadd('day', window_days, 'flagged_at') }}
        or has_upgraded <> (upgraded_at is not null)
        or upgraded_at <= flagged_at
        or upgraded_at >= window_closes_at
        or upgraded_at >= {{ as_of_ts() }}
        or upgraded_to_tier <= current_tier
        or (not has_upgraded and mrr_gained_usd <> 0)
        or (has_upgraded and not can_move_up)
)

select * from final
