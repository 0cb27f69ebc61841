{#- The persisted history of cross-sell recommendations, the memory the frequency cap and the outcomes need: one
    row per as-of date per customer per recommended product (int_cross_sell_recommendations_ranked of that
    date), appended by each run, with its holdout and cap status.

    Holdout: the customer is in the cross-sell holdout when macros/holdout.sql says so for
    `cross_sell_holdout_share` (a stable hash of 'cross_sell:<customer_id>'): the row stays here and in the
    marts, and is never e-mailed.
    Frequency cap: a contact whose earlier uncapped recommendation (treated or held out) is less than
    `cross_sell_frequency_cap_days` days before the as-of date (recommended_on > D - cap) gets no new e-mail:
    every row of the contact that day is capped. A held-out contact is capped exactly as if it had been
    e-mailed, so both groups follow the same cadence and the comparison stays fair. With 30 days: e-mailed on
    Nov 1, capped through Nov 30, e-mailed again from Dec 1.

    As for int_upgrade_flag_history: a run for as_of_date D first deletes D's rows (the pre-hook), then reads
    only earlier dates from the table itself, so re-running D is idempotent and a run never sees its own
    output. `dbt build --full-refresh` (or a first run) resets the history. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='append_new_columns',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where recommended_on = {{ as_of_date() }}{% endif %}"
    )
}}
{%- set cap_days = var('cross_sell_frequency_cap_days') | int -%}
{%- set holdout_share = var('cross_sell_holdout_share') | float -%}

with

ranked_recommendations as (
    select * from {{ ref('int_cross_sell_recommendations_ranked') }}
),

{# The contacts' uncapped recommendations of earlier dates inside the cap; none on a first run. #}
earlier_sends as (
    {% if is_incremental() -%}
        select
            contact_id,
            recommended_on
        from {{ this }}
        where
            recommended_on < {{ as_of_date() }}
            and recommended_on > {{ dbt.dateadd('day', -1 * cap_days, as_of_date()) }}
            and not is_capped
    {%- else -%}
        select
            contact_id,
            cast(null as date) as recommended_on
        from ranked_recommendations
        where 1 = 0
    {%- endif %}
),

last_sends as (
    select
        contact_id,
        max(recommended_on) as last_sent_on
    from earlier_sends
    group by contact_id
),

assigned as (
    select
        ranked_recommendations.*,
        {{ is_held_out('cross_sell', 'ranked_recommendations.customer_id', holdout_share) }} as is_holdout,
        last_sends.last_sent_on as capped_by_recommendation_on,
        last_sends.contact_id is not null as is_capped
    from ranked_recommendations
    left join last_sends
        on ranked_recommendations.contact_id = last_sends.contact_id
),

final as (
    {#- The grain first, then the send and its recommendation, then its status. #}
    select
        {{ as_of_date() }} as recommended_on,
        customer_id,
        product_id,
        {{ as_of_ts() }} as recommended_at,
        contact_id,
        rank,
        source_order_id,
        source_product_id,
        source_product_name,
        product_name,
        score,
        confidence,
        lift,
        reason,
        send_after,
        send_before,
        is_holdout,
        is_capped,
        capped_by_recommendation_on,
        case
            when is_capped then 'frequency_cap'
            when is_holdout then 'holdout'
        end as suppressed_reason
    from assigned
)

select * from final
