{#- What the customers cross-sell is about to e-mail already have, so that it never offers it again: every
    product on a counted (not cancelled) order placed before the as-of instant, at any time (a returned
    product counts too: the customer has tried it and sent it back), and every add-on product on a
    subscription line valid at the as-of instant that is not canceled (active, trialing or paused: the
    customer holds it). Only the customers of int_source_orders_selected are looked at, which keeps this a
    semi-join against a few customers instead of a de-duplication of every order line. -#}
with

source_orders as (
    select * from {{ ref('int_source_orders_selected') }}
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

source_customers as (
    select distinct source_orders.customer_id
    from source_orders
),

customer_orders as (
    select
        orders.order_id,
        orders.customer_id
    from orders
    inner join source_customers
        on orders.customer_id = source_customers.customer_id
    where
        orders.is_counted
        and orders.ordered_at < {{ as_of_ts() }}
),

purchased_products as (
    select distinct
        customer_orders.customer_id,
        order_items.product_id
    from order_items
    inner join customer_orders
        on order_items.order_id = customer_orders.order_id
),

held_addons as (
    select distinct
        subscription_items.customer_id,
        subscription_items.product_id
    from subscription_items
    inner join source_customers
        on subscription_items.customer_id = source_customers.customer_id
    where
        subscription_items.kind = 'addon'
        and subscription_items.product_id is not null
        and subscription_items.status <> 'canceled'
        and subscription_items.valid_from < {{ as_of_ts() }}
        and (subscription_items.valid_to is null or subscription_items.valid_to >= {{ as_of_ts() }})
),

owned_products as (
    select
        coalesce(purchased_products.customer_id, held_addons.customer_id) as customer_id,
        coalesce(purchased_products.product_id, held_addons.product_id) as product_id,
        purchased_products.product_id is not null as has_purchased,
        held_addons.product_id is not null as has_subscription_addon
    from purchased_products
    full outer join held_addons
        on
            purchased_products.customer_id = held_addons.customer_id
            and purchased_products.product_id = held_addons.product_id
),

final as (
    select * from owned_products
)

select * from final
