{#- Fails with every Klaviyo event for a contact whose earlier recommendation, e-mailed or held out (not itself
    capped), is less than `cross_sell_frequency_cap_days` days before the as-of date: at most one cross-sell
    e-mail per contact in that many days, re-derived from the send history. -#}
{{ config(meta={'dagster': {'ref': {'name': 'sync_klaviyo__cross_sell_events'}}}) }}
{%- set cap_days = var('cross_sell_frequency_cap_days') | int -%}

with

klaviyo_events as (
    select * from {{ ref('sync_klaviyo__cross_sell_events') }}
),

send_history as (
    select * from {{ ref('int_cross_sell_send_history') }}
),

recent_sends as (
    select distinct
        contact_id,
        recommended_on
    from send_history
    where
        not is_capped
        and recommended_on < {{ as_of_date() }}
        and recommended_on > {{ dbt.dateadd('day', -1 * cap_days, as_of_date()) }}
),

final as (
    select
        klaviyo_events.record_key,
        klaviyo_events.contact_id,
        recent_sends.recommended_on as earlier_recommendation_on
    from klaviyo_events
    inner join recent_sends
        on klaviyo_events.contact_id = recent_sends.contact_id
)

select * from final
