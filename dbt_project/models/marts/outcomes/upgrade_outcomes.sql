{#- What each upgrade flag led to: every row of int_upgrade_flag_history flagged on or before the as-of date
    (routed, held out or capped), with whether the account moved to a higher tier of its plan family in the
    `upsell_outcome_window_days` days after the flag (flagged_at, the as-of instant of the run that flagged
    it), when, to which plan, and the MRR that move added.

    An upgrade is the first active plan line of the customer that starts in (flagged_at, flagged_at + window)
    and before the as-of instant, whose plan is of the flagged plan's family and of a higher tier than the
    flagged one (the recommended plan or any other above it). Its MRR gained is the tier-change MRR of the
    month it took effect in (int_mrr_changes_explained.tier_change_mrr, USD at that month's rate; seat, price,
    add-on and FX changes are not counted), 0 without an upgrade, and 0 in a month the account began paying in
    (a converted trial or an ended pause: that month's MRR is all new or reactivation MRR). A flag on the top tier of its family cannot
    move up (can_move_up false). Only the plan lines of flagged customers that start after their first flag
    are read. Rows recorded before holdouts existed (is_holdout NULL) have no control group and are left out. -#}
{%- set window_days = var('upsell_outcome_window_days') | int -%}
with

flag_history as (
    select * from {{ ref('int_upgrade_flag_history') }}
),

subscription_items as (
    select * from {{ ref('stg_raw__subscription_items') }}
),

plans as (
    select * from {{ ref('stg_raw__plans') }}
),

mrr_changes as (
    select * from {{ ref('int_mrr_changes_explained') }}
),

flags as (
    select
        *,
        {{ dbt.dateadd('day', window_days, 'flagged_at') }} as window_closes_at
    from flag_history
    where
        flagged_on <= {{ as_of_date() }}
        and is_holdout is not null
),

flagged_customers as (
    select
        customer_id,
        min(flagged_at) as first_flagged_at
    from flags
    group by customer_id
),

later_plan_lines as (
    select
        subscription_items.customer_id,
        subscription_items.plan_id,
        subscription_items.valid_from,
        plans.family,
        plans.tier
    from subscription_items
    inner join flagged_customers
        on subscription_items.customer_id = flagged_customers.customer_id
    inner join plans
        on subscription_items.plan_id = plans.plan_id
    where
        subscription_items.kind = 'plan'
        and subscription_items.status = 'active'
        and subscription_items.valid_from > flagged_customers.first_flagged_at
        and subscription_items.valid_from < {{ as_of_ts() }}
),

upgrade_candidates as (
    select
        flags.flagged_on,
        flags.customer_id,
        later_plan_lines.plan_id as upgraded_to_plan_id,
        later_plan_lines.tier as upgraded_to_tier,
        later_plan_lines.valid_from as upgraded_at,
        row_number() over (
            partition by flags.flagged_on, flags.customer_id
            order by later_plan_lines.valid_from asc, later_plan_lines.tier desc, later_plan_lines.plan_id asc
        ) as upgrade_rank
    from flags
    inner join later_plan_lines
        on
            flags.customer_id = later_plan_lines.customer_id
            and flags.plan_family = later_plan_lines.family
            and flags.current_tier < later_plan_lines.tier
            and flags.flagged_at < later_plan_lines.valid_from
            and flags.window_closes_at > later_plan_lines.valid_from
),

first_upgrades as (
    select * from upgrade_candidates
    where upgrade_rank = 1
),

final as (
    select
        flags.flagged_on,
        flags.customer_id,
        flags.flagged_at,
        flags.segment,
        flags.route,
        flags.triggers,
        flags.plan_family,
        flags.current_plan_id,
        flags.current_tier,
        flags.recommended_plan_id,
        flags.current_mrr,
        flags.expected_expansion_mrr,
        flags.is_holdout,
        flags.is_capped,
        flags.suppressed_reason,
        flags.window_closes_at,
        first_upgrades.upgraded_at,
        first_upgrades.upgraded_to_plan_id,
        first_upgrades.upgraded_to_tier,
        case when flags.is_holdout then 'holdout' else 'treated' end as assigned_group,
        not flags.is_holdout and not flags.is_capped as is_routed,
        not flags.is_top_tier as can_move_up,
        not flags.is_capped and not flags.is_top_tier as is_measured,
        flags.window_closes_at <= {{ as_of_ts() }} as is_window_closed,
        first_upgrades.customer_id is not null as has_upgraded,
        coalesce(first_upgrades.upgraded_to_plan_id = flags.recommended_plan_id, false) as is_recommended_plan,
        {{ dbt.datediff('flags.flagged_at', 'first_upgrades.upgraded_at', 'day') }}
            as days_to_upgrade,
        cast(
            case
                when first_upgrades.customer_id is not null then coalesce(mrr_changes.tier_change_mrr, 0)
                else 0
            end
            as decimal(18, 2)
        ) as mrr_gained_usd
    from flags
    left join first_upgrades
        on
            flags.flagged_on = first_upgrades.flagged_on
            and flags.customer_id = first_upgrades.customer_id
    left join mrr_changes
        on
            first_upgrades.customer_id = mrr_changes.customer_id
            and cast({{ dbt.date_trunc('month', 'first_upgrades.upgraded_at') }} as date) = mrr_changes.month
)

select * from final
