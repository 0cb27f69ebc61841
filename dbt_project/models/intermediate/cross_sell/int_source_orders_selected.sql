{#- The orders a cross-sell e-mail follows up: delivered (not returned) orders whose send window,
    delivered_at + 24 h to delivered_at + 48 h, holds the as-of instant, that is delivered in
    [as_of - 48 h, as_of - 24 h) (so consecutive daily runs tile without overlap), of customers with a
    primary contact who may receive marketing e-mail. -#}
{%- set send_after_hours = var('cross_sell_send_after_hours') | int -%}
{%- set send_before_hours = var('cross_sell_send_before_hours') | int -%}
with

orders as (
    select * from {{ ref('stg_raw__orders') }}
),

contacts as (
    select * from {{ ref('stg_raw__contacts') }}
),

{# One addressee per customer: a primary contact who opted in and never unsubscribed (the most recently
    updated one, should an account have several). #}
consented_contacts as (
    select
        contacts.customer_id,
        contacts.contact_id,
        row_number() over (
            partition by contacts.customer_id
            order by contacts.updated_at desc, contacts.contact_id asc
        ) as contact_rank
    from contacts
    where
        contacts.is_primary
        and contacts.email_opt_in
        and contacts.is_email_consented
        and contacts.unsubscribed_at is null
),

primary_contacts as (
    select
        consented_contacts.customer_id,
        consented_contacts.contact_id
    from consented_contacts
    where consented_contacts.contact_rank = 1
),

delivered_orders as (
    select
        orders.order_id,
        orders.customer_id,
        orders.delivered_at
    from orders
    where
        orders.status = 'delivered'
        and orders.delivered_at >= {{ dbt.dateadd('hour', -1 * send_before_hours, as_of_ts()) }}
        and orders.delivered_at < {{ dbt.dateadd('hour', -1 * send_after_hours, as_of_ts()) }}
),

final as (
    select
        delivered_orders.order_id,
        delivered_orders.customer_id,
        primary_contacts.contact_id,
        delivered_orders.delivered_at,
        {{ dbt.dateadd('hour', send_after_hours, 'delivered_orders.delivered_at') }} as send_after,
        {{ dbt.dateadd('hour', send_before_hours, 'delivered_orders.delivered_at') }} as send_before
    from delivered_orders
    inner join primary_contacts
        on delivered_orders.customer_id = primary_contacts.customer_id
)

select * from final
