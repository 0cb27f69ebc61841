{#- Fails with every flagged account whose recommended plan is not a higher tier of its current plan's family. -#}
{{ config(meta={'dagster': {'ref': {'name': 'upgrade_trigger_accounts'}}}) }}

with

upgrade_trigger_accounts as (
    select * from {{ ref('upgrade_trigger_accounts') }}
),

plans as (
    select * from {{ ref('stg_raw__plans') }}
),

recommended_plans as (
    select * from plans
),

offers as (
    select
        upgrade_trigger_accounts.customer_id,
        plans.family as current_family,
        plans.tier as current_tier,
        recommended_plans.family as recommended_family,
        recommended_plans.tier as recommended_tier
    from upgrade_trigger_accounts
    inner join plans
        on upgrade_trigger_accounts.current_plan_id = plans.plan_id
    left join recommended_plans
        on upgrade_trigger_accounts.recommended_plan_id = recommended_plans.plan_id
    where upgrade_trigger_accounts.recommended_plan_id is not null
),

final as (
    select * from offers
    where
        recommended_family is null
        or recommended_family <> current_family
        or recommended_tier <= current_tier
)

select * from final
