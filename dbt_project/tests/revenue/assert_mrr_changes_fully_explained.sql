{#- int_mrr_changes_explained must explain every change of mrr_monthly: a row for every customer-month
    whose mrr_change is not 0, the same mrr_change, components adding up to it exactly, and no more left to
    rounding_mrr than rounding seven amounts to cents can leave (a wrong split would show up there). -#}
{{ config(meta={'dagster': {'ref': {'name': 'int_mrr_changes_explained'}}}) }}

with

mrr_monthly as (
    select * from {{ ref('mrr_monthly') }}
),

mrr_changes_explained as (
    select * from {{ ref('int_mrr_changes_explained') }}
),

compared as (
    select
        mrr_monthly.customer_id,
        mrr_monthly.month,
        mrr_monthly.mrr_change,
        mrr_changes_explained.mrr_change as explained_mrr_change,
        mrr_changes_explained.rounding_mrr,
        mrr_changes_explained.subscription_start_stop_mrr + mrr_changes_explained.tier_change_mrr
        + mrr_changes_explained.addon_change_mrr + mrr_changes_explained.seat_change_mrr
        + mrr_changes_explained.price_change_mrr + mrr_changes_explained.fx_change_mrr
        + mrr_changes_explained.rounding_mrr as component_sum
    from mrr_monthly
    left join mrr_changes_explained
        on
            mrr_monthly.customer_id = mrr_changes_explained.customer_id
            and mrr_monthly.month = mrr_changes_explained.month
),

final as (
    select * from compared
    where
        (mrr_change <> 0 and explained_mrr_change is null)
        or explained_mrr_change <> mrr_change
        or component_sum <> explained_mrr_change
        or abs(rounding_mrr) > 0.04
)

select * from final
