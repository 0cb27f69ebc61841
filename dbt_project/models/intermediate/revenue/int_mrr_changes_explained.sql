{#- One row per customer per month of mrr_monthly in which the customer's MRR changed or one of its
    revenue lines changed: the month's mrr_change split into where it came from, so the CRM and BI can say
    why revenue grew. The components add up to mrr_change exactly.

    A revenue line is a plan line (one per subscription) or an add-on line (one per subscription and
    product), counted for a month as in int_customer_mrr_periods (valid at the month's last moment, active,
    amount > 0). Comparing the month with the previous one, line by line, in USD:
      - a line counted in both months whose amounts did not change: its amount × the rate change (fx);
      - a line whose version changed: its previous amount × the rate change (fx), then the change of its
        native amount at this month's rate: for an add-on all of it is add-on change (cross-sell); for a plan,
        the seat change valued at the previous unit price is seat change, and the rest is tier change when the
        plan itself changed (upsell or downgrade) and price change when it did not;
      - a plan line that starts or stops counting (a new subscription, a trial converting, a pause, a resume,
        a cancellation, a reactivation): subscription start/stop; an add-on that starts or stops: add-on
        change (cross-sell);
      - a month in which no line changed: all of the change is fx.
    Each component is rounded to cents; rounding_mrr (almost always 0.00 or ±0.01) takes what the
    customer-month's own rounding leaves, so the row adds up to mrr_change exactly.

    The customer-months, their movement and mrr_change are mrr_monthly's, worked out here from
    int_customer_mrr_periods by the same macro (macros/revenue/customer_mrr_months.sql), for the months in
    which MRR can change, rather than read from the mart. -#}
{%- set as_of_month_number = month_number(as_of_date()) -%}

with

subscription_items as (
    select * from {{ ref('stg_raw__subscription_items') }}
),

fx_rates_monthly as (
    select * from {{ ref('int_fx_rates_monthly') }}
),

customer_mrr_periods as (
    select * from {{ ref('int_customer_mrr_periods') }}
),

revenue_lines as (
    select
        subscription_items.customer_id,
        subscription_items.subscription_id,
        subscription_items.kind,
        subscription_items.product_id,
        subscription_items.plan_id,
        subscription_items.currency,
        subscription_items.quantity,
        subscription_items.monthly_amount,
        {{ month_number('subscription_items.valid_from') }} as first_month_number,
        case
            when subscription_items.valid_to is null or subscription_items.valid_to >= {{ as_of_ts() }}
                then {{ as_of_month_number }}
            else {{ month_number('subscription_items.valid_to') }} - 1
        end as last_month_number
    from subscription_items
    where
        subscription_items.is_revenue_bearing
        and subscription_items.quantity > 0
        and subscription_items.unit_price > 0
        and subscription_items.valid_from < {{ as_of_ts() }}
),

counted_lines as (
    select * from revenue_lines
    where first_month_number <= last_month_number
),

{# Months in which some line starts or stops counting. #}
line_events as (
    select distinct
        customer_id,
        first_month_number as month_number
    from counted_lines
    union
    select distinct
        customer_id,
        last_month_number + 1 as month_number
    from counted_lines
    where last_month_number < {{ as_of_month_number }}
),

{# Every version counted in the event month or the one before, with both months' rates of its currency. #}
event_line_versions as (
    select
        line_events.customer_id,
        line_events.month_number,
        counted_lines.subscription_id,
        counted_lines.kind,
        counted_lines.product_id,
        counted_lines.plan_id,
        counted_lines.quantity,
        counted_lines.monthly_amount,
        fx_rates_monthly.usd_per_unit as current_usd_per_unit,
        fx_rates_monthly.previous_usd_per_unit,
        counted_lines.last_month_number = line_events.month_number - 1 as is_previous,
        counted_lines.first_month_number = line_events.month_number as is_current,
        counted_lines.first_month_number < line_events.month_number
        and counted_lines.last_month_number >= line_events.month_number as is_continuing
    from line_events
    inner join counted_lines
        on
            line_events.customer_id = counted_lines.customer_id
            and line_events.month_number >= counted_lines.first_month_number
            and counted_lines.last_month_number >= line_events.month_number - 1
    inner join fx_rates_monthly
        on
            counted_lines.currency = fx_rates_monthly.currency
            and line_events.month_number = fx_rates_monthly.month_number
),

{# Per event month and line, in USD: the versions that stopped counting (previous), at last month's and at
    this month's rate; the versions that started (current); and the rate change on versions counted in both
    months. Several versions of one line at once are summed. #}
line_states as (
    select
        customer_id,
        month_number,
        subscription_id,
        kind,
        product_id,
        sum(case when is_previous then monthly_amount * previous_usd_per_unit end) as previous_usd,
        sum(case when is_previous then monthly_amount * current_usd_per_unit end) as previous_at_current_rate_usd,
        sum(case when is_current then monthly_amount * current_usd_per_unit end) as current_usd,
        sum(case when is_continuing then monthly_amount * (current_usd_per_unit - previous_usd_per_unit) else 0 end)
            as continuing_fx_usd,
        sum(case when is_previous then quantity end) as previous_quantity,
        sum(case when is_current then quantity end) as current_quantity,
        max(case when is_previous then plan_id end) as previous_plan_id,
        max(case when is_current then plan_id end) as current_plan_id
    from event_line_versions
    group by customer_id, month_number, subscription_id, kind, product_id
),

line_components as (
    select
        customer_id,
        month_number,
        continuing_fx_usd
        + case
            when previous_usd is not null and current_usd is not null then previous_at_current_rate_usd - previous_usd
            else 0
        end as fx_usd,
        case
            when kind = 'plan' and previous_usd is null then coalesce(current_usd, 0)
            when kind = 'plan' and current_usd is null then -previous_usd
            else 0
        end as subscription_start_stop_usd,
        case
            when kind = 'plan' then 0
            when previous_usd is null or current_usd is null then coalesce(current_usd, 0) - coalesce(previous_usd, 0)
            else current_usd - previous_at_current_rate_usd
        end as addon_change_usd,
        case
            when kind = 'plan' and previous_usd is not null and current_usd is not null and previous_quantity > 0
                then
                    cast(current_quantity - previous_quantity as double) * cast(previous_at_current_rate_usd as double)
                    / cast(previous_quantity as double)
            else 0
        end as seat_change_usd,
        case
            when kind = 'plan' and previous_usd is not null and current_usd is not null
                then current_usd - previous_at_current_rate_usd
            else 0
        end as plan_native_change_usd,
        coalesce(kind = 'plan' and previous_plan_id <> current_plan_id, false) as is_plan_change
    from line_states
),

event_components as (
    select
        customer_id,
        month_number,
        cast(round(sum(fx_usd), 2) as decimal(18, 2)) as fx_change_mrr,
        cast(round(sum(subscription_start_stop_usd), 2) as decimal(18, 2)) as subscription_start_stop_mrr,
        cast(round(sum(addon_change_usd), 2) as decimal(18, 2)) as addon_change_mrr,
        cast(round(sum(seat_change_usd), 2) as decimal(18, 2)) as seat_change_mrr,
        cast(
            round(sum(case when is_plan_change then plan_native_change_usd - seat_change_usd else 0 end), 2)
            as decimal(18, 2)
        ) as tier_change_mrr,
        cast(
            round(sum(case when is_plan_change then 0 else plan_native_change_usd - seat_change_usd end), 2)
            as decimal(18, 2)
        ) as price_change_mrr
    from line_components
    group by customer_id, month_number
),

customer_months as (
    {{ customer_mrr_months('customer_mrr_periods', 'fx_rates_monthly', changed_months_only=true) }}
),

explained as (
    select
        customer_months.customer_id,
        customer_months.month,
        customer_months.movement,
        customer_months.mrr_change,
        coalesce(event_components.subscription_start_stop_mrr, 0) as subscription_start_stop_mrr,
        coalesce(event_components.tier_change_mrr, 0) as tier_change_mrr,
        coalesce(event_components.addon_change_mrr, 0) as addon_change_mrr,
        coalesce(event_components.seat_change_mrr, 0) as seat_change_mrr,
        coalesce(event_components.price_change_mrr, 0) as price_change_mrr,
        case
            when event_components.customer_id is null then customer_months.mrr_change
            else event_components.fx_change_mrr
        end as fx_change_mrr,
        event_components.customer_id is not null as has_line_change
    from customer_months
    left join event_components
        on
            customer_months.customer_id = event_components.customer_id
            and customer_months.month_number = event_components.month_number
),

{# The components are DECIMAL(18,2) already (event_components' casts, and mrr_change). #}
final as (
    select
        customer_id,
        month,
        movement,
        mrr_change,
        subscription_start_stop_mrr,
        tier_change_mrr,
        addon_change_mrr,
        seat_change_mrr,
        price_change_mrr,
        fx_change_mrr,
        cast(
            mrr_change - subscription_start_stop_mrr - tier_change_mrr - addon_change_mrr - seat_change_mrr
            - price_change_mrr - fx_change_mrr
            as decimal(18, 2)
        ) as rounding_mrr,
        has_line_change
    from explained
    where
        mrr_change <> 0
        or subscription_start_stop_mrr <> 0
        or tier_change_mrr <> 0
        or addon_change_mrr <> 0
        or seat_change_mrr <> 0
        or price_change_mrr <> 0
        or fx_change_mrr <> 0
)

select * from final
