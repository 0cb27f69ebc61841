{#- What each cross-sell recommendation led to: every row of int_cross_sell_send_history recorded on or before
    the as-of date (sent, held out or capped), with whether the customer ordered the recommended product in the
    `cross_sell_outcome_window_days` days from the recommendation's as-of instant (recommended_at: the run that
    e-mails it, or would have), when, and what it brought in.

    An order counts when it is not cancelled or returned, was placed in [recommended_at, recommended_at +
    window) and before the as-of instant (a window still open counts what has happened so far), and holds
    the recommended product; its revenue is the product's line amounts (after discount) in USD at the order
    date's rate. Only the orders of customers with a recommendation, placed after their first one, are read,
    so the scan follows the sends, not the order history. Rows recorded before holdouts existed (is_holdout
    NULL) have no control group and are left out. -#}
{%- set window_days = var('cross_sell_outcome_window_days') | int -%}
with

send_history as (
    select * from {{ ref('int_cross_sell_send_history') }}
),

orders as (
    select * from {{ ref('stg_raw__orders') }}
),

order_items as (
    select * from {{ ref('stg_raw__order_items') }}
),

fx_rates_daily as (
    select * from {{ ref('int_fx_rates_daily') }}
),

sends as (
    select
        *,
        {{ dbt.dateadd('day', window_days, 'recommended_at') }} as window_closes_at
    from send_history
    where
        recommended_on <= {{ as_of_date() }}
        and is_holdout is not null
),

send_customers as (
    select
        customer_id,
        min(recommended_at) as first_recommended_at
    from sends
    group by customer_id
),

later_orders as (
    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.currency
    from orders
    inner join send_customers
        on orders.customer_id = send_customers.customer_id
    where
        orders.is_counted
        and orders.status <> 'returned'
        and orders.ordered_at >= send_customers.first_recommended_at
        and orders.ordered_at < {{ as_of_ts() }}
),

later_lines as (
    select
        later_orders.order_id,
        later_orders.customer_id,
        later_orders.ordered_at,
        order_items.product_id,
        order_items.quantity,
        order_items.line_amount * fx_rates_daily.usd_per_unit as line_amount_usd
    from later_orders
    inner join order_items
        on later_orders.order_id = order_items.order_id
    left join fx_rates_daily
        on
            later_orders.currency = fx_rates_daily.currency
            and cast(later_orders.ordered_at as date) = fx_rates_daily.rate_date
),

conversions as (
    select
        sends.recommended_on,
        sends.customer_id,
        sends.product_id,
        min(later_lines.ordered_at) as first_ordered_at,
        count(distinct later_lines.order_id) as orders_in_window,
        sum(later_lines.quantity) as units_in_window,
        sum(later_lines.line_amount_usd) as revenue_usd
    from sends
    inner join later_lines
        on
            sends.customer_id = later_lines.customer_id
            and sends.product_id = later_lines.product_id
            and sends.recommended_at <= later_lines.ordered_at
            and sends.window_closes_at > later_lines.ordered_at
    group by
        sends.recommended_on,
        sends.customer_id,
        sends.product_id
),

final as (
    select
        sends.recommended_on,
        sends.customer_id,
        sends.product_id,
        sends.contact_id,
        sends.source_order_id,
        sends.rank as recommendation_rank,
        sends.recommended_at,
        sends.is_holdout,
        sends.is_capped,
        sends.suppressed_reason,
        sends.window_closes_at,
        case when sends.is_holdout then 'holdout' else 'treated' end as assigned_group,
        not sends.is_holdout and not sends.is_capped as is_emailed,
        not sends.is_capped as is_measured,
        sends.window_closes_at <= {{ as_of_ts() }} as is_window_closed,
        conversions.recommended_on is not null as has_converted,
        conversions.first_ordered_at,
        {{ dbt.datediff('sends.recommended_at', 'conversions.first_ordered_at', 'day') }}
            as days_to_conversion,
        coalesce(conversions.orders_in_window, 0) as orders_in_window,
        coalesce(conversions.units_in_window, 0) as units_in_window,
        cast(coalesce(conversions.revenue_usd, 0) as decimal(18, 2)) as revenue_usd
    from sends
    left join conversions
        on
            sends.recommended_on = conversions.recommended_on
            and sends.customer_id = conversions.customer_id
            and sends.product_id = conversions.product_id
)

select * from final
