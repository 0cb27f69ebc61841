{#- Fails with each recommendation addressed to anyone but a primary contact of the same customer who
    opted in to marketing e-mail and never unsubscribed (or to a contact that does not exist). -#}
{{ config(meta={'dagster': {'ref': {'name': 'cross_sell_recommendations'}}}) }}

with

recommendations as (
    select * from {{ ref('cross_sell_recommendations') }}
),

contacts as (
    select * from {{ ref('stg_raw__contacts') }}
),

misaddressed_recommendations as (
    select
        recommendations.customer_id,
        recommendations.product_id,
        recommendations.contact_id,
        contacts.customer_id as contact_customer_id,
        contacts.is_primary,
        contacts.email_opt_in,
        contacts.unsubscribed_at
    from recommendations
    left join contacts
        on recommendations.contact_id = contacts.contact_id
    where
        contacts.contact_id is null
        or contacts.customer_id <> recommendations.customer_id
        or not coalesce(contacts.is_primary, false)
        or not coalesce(contacts.email_opt_in, false)
        or contacts.unsubscribed_at is not null
),

final as (
    select * from misaddressed_recommendations
)

select * from final
