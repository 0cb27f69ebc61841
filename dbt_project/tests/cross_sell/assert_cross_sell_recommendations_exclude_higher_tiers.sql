{#- Fails with each recommendation of a higher tier of a family the customer just bought: a product of the
    same family with a higher tier than a product on any of the customer's orders delivered in the send
    window (those are upsells, not cross-sells). The window is recomputed from the vars. -#}
{{ config(meta={'dagster': {'ref': {'name': 'cross_sell_recommendations'}}}) }}

{%- set send_after_hours = var('cross_sell_send_after_hours') | int -%}
{%- set send_before_hours = var('cross_sell_send_before_hours') | int -%}
with

recommendations as (
    select * from {{ ref('cross_sell_recommendations') }}
),

orders as (
    select * from {{ ref('stg_raw__orders') }}
),

order_items as (
    select * from {{ ref('stg_raw__order_items') }}
),

products as (
    select * from {{ ref('stg_raw__products') }}
),

just_bought as (
    select distinct
        orders.customer_id,
        products.family,
        products.tier
    from orders
    inner join order_items
        on orders.order_id = order_items.order_id
    inner join products
        on order_items.product_id = products.product_id
    where
        orders.status = 'delivered'
        and orders.delivered_at >= {{ dbt.dateadd('hour', -1 * send_before_hours, as_of_ts()) }}
        and orders.delivered_at < {{ dbt.dateadd('hour', -1 * send_after_hours, as_of_ts()) }}
        and products.tier is not null
),

upsell_recommendations as (
    select
        recommendations.customer_id,
        recommendations.product_id,
        recommended_products.family,
        recommended_products.tier as recommended_tier,
        just_bought.tier as bought_tier
    from recommendations
    inner join products as recommended_products
        on recommendations.product_id = recommended_products.product_id
    inner join just_bought
        on
            recommendations.customer_id = just_bought.customer_id
            and recommended_products.family = just_bought.family
    where recommended_products.tier > just_bought.tier
),

final as (
    select * from upsell_recommendations
)

select * from final
