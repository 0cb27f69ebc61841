{#- The baskets copurchase_pairs counts: each windowed order reduced to the set of products on its lines.
    De-duplicating here makes an order count once per product however many lines or units hold it (a
    self-join of raw lines would count a product on two lines twice). -#}
{#- A view: copurchase_pairs sums int_copurchase_counts_daily; this stays for the tests and benchmarks that
    check the pairs against the baskets. -#}
{{ config(materialized='view') }}
with

basket_orders as (
    select * from {{ ref('int_basket_orders_windowed') }}
),

order_items as (
    select * from {{ ref('stg_raw__order_items') }}
),

final as (
    select distinct
        basket_orders.order_key,
        order_items.product_id
    from order_items
    inner join basket_orders
        on order_items.order_id = basket_orders.order_id
)

select * from final
