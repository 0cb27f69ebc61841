{#- The ladder upgrade offers climb: for each plan, every plan of a higher tier in its family, ranked in the
    order offers are considered (lowest tier first, the plan's own billing period before the other, then
    plan_id), with the higher plan's limits, features and monthly list price in US dollars at the as-of
    date's rate. A plan without rows here is its family's top tier. -#}
with

plans as (
    select * from {{ ref('stg_raw__plans') }}
),

as_of_rates as (
    {{ as_of_usd_rates(ref('int_fx_rates_daily')) }}
),

higher_plans as (
    select
        plans.plan_id,
        plans.name,
        plans.family,
        plans.tier,
        plans.billing_period,
        plans.seat_limit,
        plans.storage_limit_gb,
        plans.api_calls_limit,
        plans.feature_list,
        cast(plans.monthly_price as double) * as_of_rates.usd_per_unit as monthly_price_usd
    from plans
    left join as_of_rates
        on plans.currency = as_of_rates.currency
),

upgrade_paths as (
    select
        plans.plan_id,
        higher_plans.plan_id as higher_plan_id,
        higher_plans.name as higher_plan_name,
        higher_plans.tier as higher_tier,
        higher_plans.seat_limit as higher_seat_limit,
        higher_plans.storage_limit_gb as higher_storage_limit_gb,
        higher_plans.api_calls_limit as higher_api_calls_limit,
        higher_plans.feature_list as higher_feature_list,
        higher_plans.monthly_price_usd as higher_monthly_price_usd,
        row_number() over (
            partition by plans.plan_id
            order by
                higher_plans.tier,
                case when higher_plans.billing_period = plans.billing_period then 0 else 1 end,
                higher_plans.plan_id
        ) as ladder_rank
    from plans
    inner join higher_plans
        on
            plans.family = higher_plans.family
            and plans.tier < higher_plans.tier
),

final as (
    select * from upgrade_paths
)

select * from final
