{#- Blocked attempts at premium features in the signal window (the `upsell_signal_window_days` days ending at
    the as-of instant): features the customer's plan in force lacks and a higher tier of its family
    includes. A feature the plan already has, or that no higher tier offers, is not an upgrade reason and is
    left out. Each row names the first plan in ladder order that includes the feature (for the evidence). -#}
{%- set window_start = dbt.dateadd('day', -1 * (var('upsell_signal_window_days') | int), as_of_ts()) -%}

with

usage_events as (
    select * from {{ ref('stg_raw__usage_events') }}
),

customer_plans as (
    select * from {{ ref('int_customer_plans_resolved') }}
),

plans as (
    select * from {{ ref('stg_raw__plans') }}
),

plan_upgrade_paths as (
    select * from {{ ref('int_plan_upgrade_paths') }}
),

blocked_features as (
    select
        customer_id,
        feature,
        count(*) as blocked_events_30d,
        max(occurred_at) as last_blocked_at
    from usage_events
    where
        metric = 'feature_blocked'
        and feature is not null
        and occurred_at >= {{ window_start }}
        and occurred_at < {{ as_of_ts() }}
    group by
        customer_id,
        feature
),

premium_blocked_features as (
    select
        blocked_features.customer_id,
        customer_plans.plan_id,
        blocked_features.feature,
        blocked_features.blocked_events_30d,
        blocked_features.last_blocked_at,
        min(plan_upgrade_paths.ladder_rank) as first_including_rank
    from blocked_features
    inner join customer_plans
        on blocked_features.customer_id = customer_plans.customer_id
    inner join plans
        on customer_plans.plan_id = plans.plan_id
    inner join plan_upgrade_paths
        on
            customer_plans.plan_id = plan_upgrade_paths.plan_id
            and array_contains(plan_upgrade_paths.higher_feature_list, blocked_features.feature)
    where not array_contains(plans.feature_list, blocked_features.feature)
    group by
        blocked_features.customer_id,
        customer_plans.plan_id,
        blocked_features.feature,
        blocked_features.blocked_events_30d,
        blocked_features.last_blocked_at
),

final as (
    select
        premium_blocked_features.customer_id,
        premium_blocked_features.plan_id,
        premium_blocked_features.feature,
        premium_blocked_features.blocked_events_30d,
        premium_blocked_features.last_blocked_at,
        plan_upgrade_paths.higher_plan_id as first_plan_including_id,
        plan_upgrade_paths.higher_plan_name as first_plan_including_name
    from premium_blocked_features
    inner join plan_upgrade_paths
        on
            premium_blocked_features.plan_id = plan_upgrade_paths.plan_id
            and premium_blocked_features.first_including_rank = plan_upgrade_paths.ladder_rank
)

select * from final
