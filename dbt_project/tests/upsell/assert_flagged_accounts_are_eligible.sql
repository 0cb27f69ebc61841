{#- Fails with every flagged account that should have stayed quiet: not active at the as-of instant, younger
    than upsell_min_account_age_days, or without a trigger. -#}
{{ config(meta={'dagster': {'ref': {'name': 'upgrade_trigger_accounts'}}}) }}

with

upgrade_trigger_accounts as (
    select * from {{ ref('upgrade_trigger_accounts') }}
),

customer_plans as (
    select * from {{ ref('int_customer_plans_resolved') }}
),

flagged_accounts as (
    select
        upgrade_trigger_accounts.customer_id,
        upgrade_trigger_accounts.triggers,
        customer_plans.lifecycle_state,
        customer_plans.customer_created_at
    from upgrade_trigger_accounts
    left join customer_plans
        on upgrade_trigger_accounts.customer_id = customer_plans.customer_id
),

final as (
    select * from flagged_accounts
    where
        lifecycle_state is null
        or lifecycle_state <> 'active'
        or customer_created_at > {{ dbt.dateadd('day', -1 * (var('upsell_min_account_age_days') | int), as_of_ts()) }}
        or triggers is null
)

select * from final
