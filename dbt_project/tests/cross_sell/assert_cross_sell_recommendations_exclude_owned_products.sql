{#- Fails with each recommendation of a product the customer already owns: one on an order of theirs that
    was not cancelled and was placed before the as-of instant, or an add-on they hold on a subscription line
    valid at the as-of instant that is not canceled. Recomputed from staging, independently of
    int_customer_products_owned. -#}
{{ config(meta={'dagster': {'ref': {'name': 'cross_sell_recommendations'}}}) }}

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

subscription_items as (
    select * from {{ ref('stg_raw__subscription_items') }}
),

{# Joined from the recommendations outwards, so only the recommended customers' orders are read. #}
owned_recommendations as (
    select distinct
        recommendations.customer_id,
        recommendations.product_id,
        'purchased before' as owned_as
    from recommendations
    inner join orders
        on recommendations.customer_id = orders.customer_id
    inner join order_items
        on
            orders.order_id = order_items.order_id
            and recommendations.product_id = order_items.product_id
    where orders.status <> 'cancelled' and orders.ordered_at < {{ as_of_ts() }}
    union all
    select distinct
        recommendations.customer_id,
        recommendations.product_id,
        'subscription add-on' as owned_as
    from recommendations
    inner join subscription_items
        on
            recommendations.customer_id = subscription_items.customer_id
            and recommendations.product_id = subscription_items.product_id
    where
        subscription_items.kind = 'addon'
        and subscription_items.status <> 'canceled'
        and subscription_items.valid_from < {{ as_of_ts() }}
        and coalesce(subscription_items.valid_to >= {{ as_of_ts() }}, true)
),

final as (
    select * from owned_recommendations
)

select * from final
