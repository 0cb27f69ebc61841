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

{# Grouped together with the customer's plan: the aggregate keeps DuckDB from pairing every customer with
    every premium feature of its plan before the blocked rows are joined (4M rows at scale 100). -#}
blocked_features as (
    select
        usage_events.customer_id,
        customer_plans.plan_id,
        usage_events.feature,
        count(*) as blocked_events_30d,
        max(usage_events.occurred_at) as last_blocked_at
    from usage_events
    inner join customer_plans
        on usage_events.customer_id = customer_plans.customer_id
    where
        usage_events.metric = 'feature_blocked'
        and usage_events.feature is not null
        and usage_events.occurred_at >= {{ window_start }}
        and usage_events.occurred_at < {{ as_of_ts() }}
    group by
        usage_events.customer_id,
        customer_plans.plan_id,
        usage_events.feature
),

blocked_feature_names as (
    select distinct feature from blocked_features
),

{# Which blocked features are premium for which plan, decided on the few distinct (plan, feature) pairs
    before any customer row is touched: the plan lacks the feature and a higher tier includes it. -#}
premium_features_by_plan as (
    select
        plan_upgrade_paths.plan_id,
        blocked_feature_names.feature,
        min(plan_upgrade_paths.ladder_rank) as first_including_rank
    from blocked_feature_names
    inner join plan_upgrade_paths
        on array_contains(plan_upgrade_paths.higher_feature_list, blocked_feature_names.feature)
    inner join plans
        on plan_upgrade_paths.plan_id = plans.plan_id
    where not array_contains(plans.feature_list, blocked_feature_names.feature)
    group by
        plan_upgrade_paths.plan_id,
        blocked_feature_names.feature
),

premium_blocked_features as (
    select
        blocked_features.customer_id,
        blocked_features.plan_id,
        blocked_features.feature,
        blocked_features.blocked_events_30d,
        blocked_features.last_blocked_at,
        premium_features_by_plan.first_including_rank
    from blocked_features
    inner join premium_features_by_plan
        on
            blocked_features.plan_id = premium_features_by_plan.plan_id
            and blocked_features.feature = premium_features_by_plan.feature
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
