{#- The orders copurchase_pairs counts: not cancelled (a return still counts, see the yml) and placed in the
    `cross_sell_lookback_days` days before the as-of instant. Each gets a dense integer key in order_id
    order, so the baskets and the pair self-join hash integers instead of strings. -#}
{#- A view: copurchase_pairs sums int_copurchase_counts_daily; this stays for the tests and benchmarks that
    check the pairs against the baskets. -#}
{{ config(materialized='view') }}
{%- set lookback_days = var('cross_sell_lookback_days') | int -%}
with

orders as (
    select * from {{ ref('stg_raw__orders') }}
),

windowed_orders as (
    select orders.order_id
    from orders
    where
        orders.is_counted
        and orders.ordered_at >= {{ dbt.dateadd('day', -1 * lookback_days, as_of_ts()) }}
        and orders.ordered_at < {{ as_of_ts() }}
),

final as (
    select
        windowed_orders.order_id,
        row_number() over (order by windowed_orders.order_id) as order_key
    from windowed_orders
)

select * from final
