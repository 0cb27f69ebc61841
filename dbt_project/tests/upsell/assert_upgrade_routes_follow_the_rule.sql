{#- Fails with every flagged account whose route or custom-deal flag breaks the rule: sales for enterprise
    accounts, custom deals (no recommended plan, always the case on the top tier) and expansion above
    upsell_sales_min_expansion_mrr; customer_success otherwise. -#}
{{ config(meta={'dagster': {'ref': {'name': 'upgrade_trigger_accounts'}}}) }}

with

upgrade_trigger_accounts as (
    select * from {{ ref('upgrade_trigger_accounts') }}
),

expected_routes as (
    select
        customer_id,
        route,
        is_top_tier,
        needs_custom_deal,
        recommended_plan_id,
        case
            when segment = 'enterprise' then 'sales'
            when recommended_plan_id is null then 'sales'
            when expected_expansion_mrr > {{ var('upsell_sales_min_expansion_mrr') }} then 'sales'
            else 'customer_success'
        end as expected_route
    from upgrade_trigger_accounts
),

final as (
    select * from expected_routes
    where
        route <> expected_route
        or (is_top_tier and recommended_plan_id is not null)
        or (needs_custom_deal <> (recommended_plan_id is null))
)

select * from final
