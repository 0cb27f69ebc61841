{#- One row per customer per month from the first paid month through the as-of month, leaving out the
    months after a churn until a reactivation (the churn month itself has a row). Beyond the contract's
    columns it carries the customer's segment, which nrr_monthly_by_segment sums by (cheaper to write here
    than to join a customer × month table to customers there).

    Built from int_customer_mrr_periods by macros/revenue/customer_mrr_months.sql: each period spreads over its
    months, a month's MRR is the period's amount × that month's rate, rounded to cents once, and a period
    whose amount is 0 yields at most its first month (the churn month), so the months after a churn cost
    nothing. -#}

with

customer_mrr_periods as (
    select * from {{ ref('int_customer_mrr_periods') }}
),

fx_rates_monthly as (
    select * from {{ ref('int_fx_rates_monthly') }}
),

customer_months as (
    {{ customer_mrr_months('customer_mrr_periods', 'fx_rates_monthly') }}
),

final as (
    select
        customer_id,
        month,
        mrr,
        previous_mrr,
        mrr_change,
        movement,
        plan_mrr,
        addon_mrr,
        segment
    from customer_months
)

select * from final
