{#- The plan each customer is on at the as-of instant, and whether the subscription is healthy enough to be
    offered an upgrade. A line is in force at the as-of instant (the end of as_of_date) when
    valid_from < as_of_ts and (valid_to is null or valid_to >= as_of_ts): valid_to is exclusive, so a line
    closing exactly at as_of_ts still holds at the day's last moment. A customer without a plan line in force
    (never subscribed, or churned: the last line was closed without a successor) has no row, so it can never
    be flagged. Lifecycle states of the others, first match wins:
      canceled   the line in force has status canceled (a churned subscription's closing row);
      paused     the line in force has status paused;
      trialing   the line in force has status trialing;
      cancelling the line in force is active but already has an end (valid_to) and no active plan line of the
                 same subscription starts at that moment: a scheduled cancellation or pause;
      active     otherwise.
    Amounts are converted to US dollars at the as-of date's rate. -#}
with

customers as (
    select * from {{ ref('stg_raw__customers') }}
),

subscription_items as (
    select * from {{ ref('stg_raw__subscription_items') }}
),

as_of_rates as (
    {{ as_of_usd_rates(ref('int_fx_rates_daily')) }}
),

{# The lines not ended before the as-of instant: those in force and those starting later (the successors
    that tell a scheduled change from a scheduled end). Filtering here, where the staging view is read once,
    lets the filter reach the scan.

    monthly_amount is a line's MRR (macros/line_monthly_amount.sql, stg_raw__subscription_items.monthly_amount's
    definition) in floating point, not staging's exact DECIMAL(38,10): these amounts only rank and route offers
    (the mart shows them rounded to cents), and a float is the cheaper of the two at scale. -#}
open_items as (
    select
        customer_id,
        subscription_id,
        item_id,
        kind,
        plan_id,
        quantity,
        currency,
        status,
        valid_from,
        valid_to,
        {{ line_monthly_amount('quantity', 'unit_price', 'months_per_period', 'is_revenue_bearing', as_double=true) }}
            as monthly_amount
    from subscription_items
    where
        valid_to is null
        or valid_to >= {{ as_of_ts() }}
),

items_in_force as (
    select * from open_items
    where valid_from < {{ as_of_ts() }}
),

{# Normally one plan line per customer is in force; with several (several subscriptions), the latest started. -#}
plan_items_in_force as (
    select
        items_in_force.*,
        row_number() over (
            partition by items_in_force.customer_id
            order by items_in_force.valid_from desc, items_in_force.item_id desc
        ) as recency_rank
    from items_in_force
    where items_in_force.kind = 'plan'
),

current_plan_items as (
    select * from plan_items_in_force
    where recency_rank = 1
),

{# Plan lines of a subscription starting when its current line ends, known at run time (future-dated lines
    included: that is how a scheduled change is told apart from a scheduled end). -#}
successor_lines as (
    select
        open_items.subscription_id,
        open_items.valid_from,
        max(case when open_items.status = 'active' then 1 else 0 end) as has_active_successor
    from open_items
    inner join current_plan_items
        on
            open_items.subscription_id = current_plan_items.subscription_id
            and open_items.valid_from = current_plan_items.valid_to
    where open_items.kind = 'plan'
    group by
        open_items.subscription_id,
        open_items.valid_from
),

addon_mrr as (
    select
        items_in_force.customer_id,
        {#- Summed as decimals: a sum of floats depends on the order threads add them up. -#}
        cast(
            sum(cast(items_in_force.monthly_amount * as_of_rates.usd_per_unit as decimal(38, 10))) as double
        ) as addon_mrr_usd
    from items_in_force
    left join as_of_rates
        on items_in_force.currency = as_of_rates.currency
    where items_in_force.kind = 'addon'
    group by items_in_force.customer_id
),

resolved as (
    select
        current_plan_items.customer_id,
        customers.segment,
        customers.created_at as customer_created_at,
        current_plan_items.item_id,
        current_plan_items.plan_id,
        current_plan_items.quantity,
        current_plan_items.status,
        current_plan_items.valid_to,
        case
            when current_plan_items.status = 'canceled' then 'canceled'
            when current_plan_items.status = 'paused' then 'paused'
            when current_plan_items.status = 'trialing' then 'trialing'
            when
                current_plan_items.valid_to is not null
                and coalesce(successor_lines.has_active_successor, 0) = 0
                then 'cancelling'
            else 'active'
        end as lifecycle_state,
        current_plan_items.monthly_amount * as_of_rates.usd_per_unit as plan_mrr_usd,
        coalesce(addon_mrr.addon_mrr_usd, 0) as addon_mrr_usd
    from current_plan_items
    left join customers
        on current_plan_items.customer_id = customers.customer_id
    left join successor_lines
        on
            current_plan_items.subscription_id = successor_lines.subscription_id
            and current_plan_items.valid_to = successor_lines.valid_from
    left join as_of_rates
        on current_plan_items.currency = as_of_rates.currency
    left join addon_mrr
        on current_plan_items.customer_id = addon_mrr.customer_id
),

final as (
    select
        customer_id,
        segment,
        customer_created_at,
        item_id,
        plan_id,
        quantity,
        status,
        valid_to,
        lifecycle_state,
        plan_mrr_usd,
        addon_mrr_usd,
        coalesce(plan_mrr_usd, 0) + addon_mrr_usd as current_mrr_usd
    from resolved
)

select * from final
