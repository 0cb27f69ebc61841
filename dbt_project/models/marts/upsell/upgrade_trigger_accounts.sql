{#- The accounts flagged for an upgrade conversation at the as-of date: today's rows of the flag history
    (int_upgrade_flag_history has applied the suppression rules and the cool-down, and marked the holdout and
    the route cap: those rows stay here, and only the others reach HubSpot). -#}
with

upgrade_flag_history as (
    select * from {{ ref('int_upgrade_flag_history') }}
),

flags_as_of as (
    select * from upgrade_flag_history
    where flagged_on = {{ as_of_date() }}
),

final as (
    select
        customer_id,
        current_plan_id,
        recommended_plan_id,
        triggers,
        evidence,
        seat_utilization,
        storage_utilization,
        api_utilization,
        seats_added_30d,
        blocked_feature_events_30d,
        current_mrr,
        expected_expansion_mrr,
        priority_score,
        route,
        flagged_at,
        flagged_on,
        segment,
        current_plan_name,
        plan_family,
        current_tier,
        is_top_tier,
        quantity,
        recommended_plan_name,
        recommended_tier,
        needs_custom_deal,
        blocked_premium_features,
        latest_active_seats,
        window_start_active_seats,
        seat_limit,
        latest_storage_gb,
        storage_limit_gb,
        api_calls_30d,
        api_calls_limit,
        current_plan_mrr,
        recommended_plan_mrr,
        utilisation_component,
        mrr_at_stake_component,
        freshness_component,
        last_signal_at,
        last_flagged_on,
        is_cooldown_broken,
        is_holdout,
        is_capped,
        open_flag_route,
        suppressed_reason
    from flags_as_of
)

select * from final
