{#- Association rules between two products over the counted orders of the lookback window.
    Work happens in the warehouse in this order: count each product's orders, drop the products below the
    minimum pair orders (no pair holding them can reach it), number the rest with a compact key, self-join
    the de-duplicated baskets once per unordered pair (key < key), keep the pairs at or above the minimum,
    then mirror them into both directions and attach the real ids and the metrics (DOUBLE, mlxtend's
    formulas). -#}
{%- set min_pair_orders = var('cross_sell_min_pair_orders') | int -%}
with

basket_orders as (
    select * from {{ ref('int_basket_orders_windowed') }}
),

{# Read twice below (product counts, then the pruned baskets): on DuckDB, scanning the table twice is
   cheaper than materialising the CTE once. #}
basket_products as {{ cte_not_materialized() }} (
    select * from {{ ref('int_basket_products_deduplicated') }}
),

order_totals as (
    select count(*) as total_orders
    from basket_orders
),

product_orders as (
    select
        basket_products.product_id,
        count(*) as orders_with_product
    from basket_products
    group by basket_products.product_id
),

frequent_products as (
    select
        product_orders.product_id,
        product_orders.orders_with_product,
        row_number() over (order by product_orders.product_id) as product_key
    from product_orders
    where product_orders.orders_with_product >= {{ min_pair_orders }}
),

frequent_order_products as (
    select
        basket_products.order_key,
        frequent_products.product_key
    from basket_products
    inner join frequent_products
        on basket_products.product_id = frequent_products.product_id
),

unordered_pairs as (
    select
        product_side.product_key,
        paired_side.product_key as paired_product_key,
        count(*) as orders_with_both
    from frequent_order_products as product_side
    inner join frequent_order_products as paired_side
        on
            product_side.order_key = paired_side.order_key
            and product_side.product_key < paired_side.product_key
    group by product_side.product_key, paired_side.product_key
    having count(*) >= {{ min_pair_orders }}
),

ordered_pairs as (
    select
        unordered_pairs.product_key,
        unordered_pairs.paired_product_key,
        unordered_pairs.orders_with_both
    from unordered_pairs
    union all
    select
        unordered_pairs.paired_product_key as product_key,
        unordered_pairs.product_key as paired_product_key,
        unordered_pairs.orders_with_both
    from unordered_pairs
),

pair_counts as (
    select
        product.product_id,
        paired_product.product_id as paired_product_id,
        ordered_pairs.orders_with_both,
        product.orders_with_product,
        paired_product.orders_with_product as orders_with_paired_product,
        order_totals.total_orders
    from ordered_pairs
    inner join frequent_products as product
        on ordered_pairs.product_key = product.product_key
    inner join frequent_products as paired_product
        on ordered_pairs.paired_product_key = paired_product.product_key
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
