{#- Fails with every cross-sell outcome whose conversion lies outside its window (before the recommendation,
    at or after the window's close, or after the as-of instant), whose window is longer than
    `cross_sell_outcome_window_days`, or that converted without an order. -#}
{{ config(meta={'dagster': {'ref': {'name': 'cross_sell_outcomes'}}}) }}
{%- set window_days = var('cross_sell_outcome_window_days') | int -%}

with

cross_sell_outcomes as (
    select * from {{ ref('cross_sell_outcomes') }}
),

final as (
    select
        recommended_on,
        customer_id,
        product_id,
        recommended_at,
        window_closes_at,
        first_ordered_at,
        orders_in_window
    from cross_sell_outcomes
    where
        window_closes_at <> {{ dbt.dateadd('day', window_days, 'recommended_at') }}
        or has_converted <> (first_ordered_at is not null)
        or (has_converted and orders_in_window < 1)
        or first_ordered_at < recommended_at
        or first_ordered_at >= window_closes_at
        or first_ordered_at >= {{ as_of_ts() }}
        or is_window_closed <> (window_closes_at <= {{ as_of_ts() }})
)

select * from final
