{#- The post-delivery cross-sell e-mails of the as-of date: today's rows of int_cross_sell_send_history, which
    records int_cross_sell_recommendations_ranked (the candidates, owned / inactive / higher-tier products left
    out, top N by score) with the holdout and frequency-cap status of each row. Held-out and capped rows stay
    here, marked; only the others reach Klaviyo (models/sync/sync_klaviyo__cross_sell_events.sql). -#}
with

send_history as (
    select * from {{ ref('int_cross_sell_send_history') }}
),

recommendations_as_of as (
    select * from send_history
    where recommended_on = {{ as_of_date() }}
),

final as (
    select
        customer_id,
        contact_id,
        product_id,
        source_order_id,
        source_product_id,
        rank,
        score,
        reason,
        send_after,
        send_before,
        product_name,
        source_product_name,
        confidence,
        lift,
        recommended_on,
        is_holdout,
        is_capped,
        capped_by_recommendation_on,
        suppressed_reason
    from recommendations_as_of
)

select * from final
