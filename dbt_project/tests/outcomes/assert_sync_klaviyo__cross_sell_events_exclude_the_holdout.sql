{#- Fails with every Klaviyo event for a customer in the cross-sell holdout, recomputed from the customer id
    with the hash (macros/holdout.sql) and today's `cross_sell_holdout_share`, independently of the flags the
    mart carries. -#}
{{ config(meta={'dagster': {'ref': {'name': 'sync_klaviyo__cross_sell_events'}}}) }}

with

klaviyo_events as (
    select * from {{ ref('sync_klaviyo__cross_sell_events') }}
),

final as (
    select
        record_key,
        customer_id,
        contact_id
    from klaviyo_events
    where {{ is_held_out('cross_sell', 'customer_id', var('cross_sell_holdout_share')) }}
)

select * from final
