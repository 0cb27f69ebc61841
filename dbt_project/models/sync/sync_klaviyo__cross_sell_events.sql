{#- One row per consenting contact with recommendations now: exactly the "Cross-sell recommendation" event
    Klaviyo gets, its recommended products as JSON text in rank order (the mart's top N per customer; the
    source order and product are those of the first-ranked one). Consent is checked again here, on the
    contact's latest version, independently of the mart: a contact who unsubscribed since gets nothing.
    unique_id (also the ledger's record key) is stable for a contact and source order, so Klaviyo drops a replayed
    event and the ledger never sends a delivered one twice. Held-out recommendations (the cross-sell holdout)
    and capped ones (the contact was e-mailed within `cross_sell_frequency_cap_days`) are never sent.
    holdout_programme is always NULL (a NULL field is never sent): it lets the Great Expectations suite prove
    that no holdout row is here. -#}
with

cross_sell_recommendations as (
    select * from {{ ref('cross_sell_recommendations') }}
),

contacts as (
    select * from {{ ref('stg_raw__contacts') }}
),

consenting_recommendations as (
    select
        cross_sell_recommendations.*,
        contacts.email,
        contacts.first_name,
        contacts.is_email_consented
    from cross_sell_recommendations
    inner join contacts
        on cross_sell_recommendations.contact_id = contacts.contact_id
    where
        contacts.is_email_consented
        and contacts.email is not null
        and not cross_sell_recommendations.is_holdout
        and not cross_sell_recommendations.is_capped
),

events as (
    select
        contact_id,
        min_by(source_order_id, rank) as source_order_id,
        min_by(customer_id, rank) as customer_id,
        min_by(email, rank) as email,
        min_by(first_name, rank) as first_name,
        bool_and(is_email_consented) as is_email_consented,
        bool_or(is_holdout) as is_holdout,
        min_by(source_product_id, rank) as source_product_id,
        min_by(source_product_name, rank) as source_product_name,
        min_by(send_after, rank) as send_after,
        min_by(send_before, rank) as send_before,
        count(*) as recommendation_count,
        {{ json_array_agg([
            ('product_id', 'product_id'),
            ('product_name', 'product_name'),
            ('rank', 'rank'),
            ('score', 'round(score, 6)'),
            ('reason', 'reason'),
        ], 'rank') }} as recommended_products
    from consenting_recommendations
    group by contact_id
),

final as (
    {#- The sync table's columns in their published order (hence no ST06). #}
    select -- noqa: ST06
        'xsell:' || contact_id || ':' || source_order_id as record_key,
        'xsell:' || contact_id || ':' || source_order_id as unique_id,
        'Cross-sell recommendation' as metric_name,
        email,
        contact_id,
        customer_id,
        first_name,
        source_order_id,
        source_product_id,
        source_product_name,
        cast(recommended_products as {{ text_type() }}) as recommended_products,
        cast(recommendation_count as integer) as recommendation_count,
        send_after,
        send_before,
        is_email_consented,
        case when is_holdout then 'cross_sell' end as holdout_programme
    from events
)

select * from final
