{#- One row per customer per month from the first paid month through the as-of month, leaving out the
    months after a churn until a reactivation (the churn month itself has a row). Beyond the contract's
    columns it carries the customer's segment, which nrr_monthly_by_segment sums by (cheaper to write here
    than to join a customer × month table to customers there).

    Built from int_customer_mrr_periods: each period spreads over its months (generated per period, then
    the (currency, month) rate joined on equality) and a month's MRR is the period's amount × that month's
    rate, rounded to cents once (a USD period's MRR is rounded once per period). The previous month's MRR is
    the same period's amount at the previous month's rate, or, in a period's first month, the previous
    period's amount at that rate (carried on the period). A period whose amount is 0 yields at most its first
    month (the churn month), so the months after a churn cost nothing. -#}

with

customer_mrr_periods as (
    select * from {{ ref('int_customer_mrr_periods') }}
),

fx_rates_monthly as (
    select * from {{ ref('int_fx_rates_monthly') }}
),

{# Each period's months as month numbers: every month of a paid period, only the first month (the churn
    month) of a period at 0. Generating them per period and joining the rates on equality is cheaper than an
    interval join of the periods to the rate table. #}
period_month_numbers as (
    select
        customer_id,
        customer_segment,
        currency,
        amount,
        plan_amount,
        usd_mrr,
        usd_plan_mrr,
        previous_month_mrr,
        period_start_month_number,
        first_paid_month_number,
        is_paid_every_month,
        {{ integers_between(
            'period_start_month_number',
            'case when amount = 0 then period_start_month_number else period_end_month_number end'
        ) }} as month_number
    from customer_mrr_periods
),

period_months as (
    select
        period_month_numbers.customer_id,
        period_month_numbers.customer_segment,
        fx_rates_monthly.month,
        period_month_numbers.month_number,
        period_month_numbers.first_paid_month_number,
        period_month_numbers.is_paid_every_month,
        case
            when period_month_numbers.currency = 'USD' then period_month_numbers.usd_mrr
            else {{ multiply_to_cents('period_month_numbers.amount', 'fx_rates_monthly.usd_per_unit') }}
        end as mrr,
        case
            when period_month_numbers.month_number = period_month_numbers.period_start_month_number
                then period_month_numbers.previous_month_mrr
            when period_month_numbers.currency = 'USD' then period_month_numbers.usd_mrr
            else {{ multiply_to_cents('period_month_numbers.amount', 'fx_rates_monthly.previous_usd_per_unit') }}
        end as previous_month_mrr,
        case
            when period_month_numbers.currency = 'USD' then period_month_numbers.usd_plan_mrr
            when period_month_numbers.plan_amount = period_month_numbers.amount then null
            else {{ multiply_to_cents('period_month_numbers.plan_amount', 'fx_rates_monthly.usd_per_unit') }}
        end as plan_mrr_if_not_all
    from period_month_numbers
    inner join fx_rates_monthly
        on
            period_month_numbers.currency = fx_rates_monthly.currency
            and period_month_numbers.month_number = fx_rates_monthly.month_number
),

kept_months as (
    select
        customer_id,
        customer_segment,
        month,
        month_number,
        first_paid_month_number,
        mrr,
        previous_month_mrr,
        coalesce(plan_mrr_if_not_all, mrr) as plan_mrr
    from period_months
    {# is_paid_every_month first: it spares recomputing the MRR expressions for the filter on most rows. #}
    where is_paid_every_month or mrr > 0 or previous_month_mrr > 0
),

classified as (
    select
        customer_id,
        month,
        mrr,
        previous_month_mrr as previous_mrr,
        cast(mrr - previous_month_mrr as decimal(18, 2)) as mrr_change,
        case
            when previous_month_mrr = 0 and month_number = first_paid_month_number then 'new'
            when previous_month_mrr = 0 then 'reactivation'
            when mrr = 0 then 'churn'
            when mrr > previous_month_mrr then 'expansion'
            when mrr < previous_month_mrr then 'contraction'
            else 'unchanged'
        end as movement,
        plan_mrr,
        cast(mrr - plan_mrr as decimal(18, 2)) as addon_mrr,
        customer_segment as segment
    from kept_months
),

final as (
    select * from classified
)

select * from final
