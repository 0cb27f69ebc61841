{#- Fails with each pair that breaks what copurchase_pairs promises: its mirror (paired → product) exists
    with the same orders_with_both; the count is at or above the minimum pair orders and no larger than
    either product's orders; a product is not paired with itself; total_orders is the number of windowed
    orders; lift and leverage are symmetric. -#}
{{ config(meta={'dagster': {'ref': {'name': 'copurchase_pairs'}}}) }}

{%- set min_pair_orders = var('cross_sell_min_pair_orders') | int -%}
with

copurchase_pairs as (
    select * from {{ ref('copurchase_pairs') }}
),

basket_orders as (
    select * from {{ ref('int_basket_orders_windowed') }}
),

order_totals as (
    select count(*) as windowed_orders
    from basket_orders
),

checked as (
    select
        copurchase_pairs.product_id,
        copurchase_pairs.paired_product_id,
        copurchase_pairs.orders_with_both,
        mirrored_pairs.orders_with_both as mirrored_orders_with_both,
        copurchase_pairs.total_orders,
        order_totals.windowed_orders
    from copurchase_pairs
    cross join order_totals
    left join copurchase_pairs as mirrored_pairs
        on
            copurchase_pairs.product_id = mirrored_pairs.paired_product_id
            and copurchase_pairs.paired_product_id = mirrored_pairs.product_id
    where
        mirrored_pairs.product_id is null
        or mirrored_pairs.orders_with_both <> copurchase_pairs.orders_with_both
        or mirrored_pairs.orders_with_product <> copurchase_pairs.orders_with_paired_product
        or abs(mirrored_pairs.lift - copurchase_pairs.lift) > 1e-9 * copurchase_pairs.lift
        or abs(mirrored_pairs.leverage - copurchase_pairs.leverage) > 1e-12
        or copurchase_pairs.orders_with_both < {{ min_pair_orders }}
        or copurchase_pairs.orders_with_both > copurchase_pairs.orders_with_product
        or copurchase_pairs.orders_with_both > copurchase_pairs.orders_with_paired_product
        or copurchase_pairs.product_id = copurchase_pairs.paired_product_id
        or copurchase_pairs.total_orders <> order_totals.windowed_orders
),

final as (
    select * from checked
)

select * from final
