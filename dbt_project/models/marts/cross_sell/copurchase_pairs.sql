{#- Association rules between two products over the counted orders of the lookback window, from the daily
    counts (int_copurchase_counts_daily): the window's days summed give its orders, each product's orders and
    each unordered pair's orders exactly; pairs below the minimum pair orders are dropped (a pair at or above
    it implies both products are too), then the pairs are mirrored into both directions and the metrics
    attached (DOUBLE, mlxtend's formulas). -#}
{%- set min_pair_orders = var('cross_sell_min_pair_orders') | int -%}
{%- set lookback_days = var('cross_sell_lookback_days') | int -%}

with

daily_counts as (
    select * from {{ ref('int_copurchase_counts_daily') }}
),

window_counts as (
    select
        daily_counts.kind,
        daily_counts.product_id,
        daily_counts.paired_product_id,
        daily_counts.orders
    from daily_counts
    where
        daily_counts.order_date >= cast({{ dbt.dateadd('day', -1 * lookback_days, as_of_ts()) }} as date)
        and daily_counts.order_date <= {{ as_of_date() }}
),

order_totals as (
    select sum(window_counts.orders) as total_orders
    from window_counts
    where window_counts.kind = 'day'
),

product_orders as (
    select
        window_counts.product_id,
        sum(window_counts.orders) as orders_with_product
    from window_counts
    where window_counts.kind = 'product'
    group by window_counts.product_id
),

unordered_pairs as (
    select
        window_counts.product_id,
        window_counts.paired_product_id,
        sum(window_counts.orders) as orders_with_both
    from window_counts
    where window_counts.kind = 'pair'
    group by window_counts.product_id, window_counts.paired_product_id
    having sum(window_counts.orders) >= {{ min_pair_orders }}
),

ordered_pairs as (
    select
        unordered_pairs.product_id,
        unordered_pairs.paired_product_id,
        unordered_pairs.orders_with_both
    from unordered_pairs
    union all
    select
        unordered_pairs.paired_product_id as product_id,
        unordered_pairs.product_id as paired_product_id,
        unordered_pairs.orders_with_both
    from unordered_pairs
),

pair_counts as (
    select
        ordered_pairs.product_id,
        ordered_pairs.paired_product_id,
        cast(ordered_pairs.orders_with_both as bigint) as orders_with_both,
        cast(product.orders_with_product as bigint) as orders_with_product,
        cast(paired_product.orders_with_product as bigint) as orders_with_paired_product,
        cast(order_totals.total_orders as bigint) as total_orders
    from ordered_pairs
    inner join product_orders as product
        on ordered_pairs.product_id = product.product_id
    inner join product_orders as paired_product
        on ordered_pairs.paired_product_id = paired_product.product_id
    cross join order_totals
),

{# Supports first, then every metric from them exactly as mlxtend's association_rules does. #}
supports as (
    select
        pair_counts.*,
        cast(pair_counts.orders_with_both as double) / pair_counts.total_orders as support,
        cast(pair_counts.orders_with_product as double) / pair_counts.total_orders
            as product_support,
        cast(pair_counts.orders_with_paired_product as double) / pair_counts.total_orders
            as paired_product_support
    from pair_counts
),

metrics as (
    select
        supports.*,
        supports.support / supports.product_support as confidence
    from supports
),

final as (
    select
        metrics.product_id,
        metrics.paired_product_id,
        metrics.orders_with_both,
        metrics.orders_with_product,
        metrics.orders_with_paired_product,
        metrics.total_orders,
        metrics.support,
        metrics.confidence,
        metrics.confidence / metrics.paired_product_support as lift,
        metrics.support - metrics.product_support * metrics.paired_product_support as leverage,
        case
            when metrics.orders_with_both < metrics.orders_with_product
                then (1 - metrics.paired_product_support) / (1 - metrics.confidence)
        end as conviction
    from metrics
)

select * from final
