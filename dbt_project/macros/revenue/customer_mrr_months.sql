{#- The customer × month rows of mrr_monthly, as a query (use it as the body of a CTE): int_customer_mrr_periods
    spread over their months, each month's MRR and previous month's MRR in USD and the movement between them.
    `customer_mrr_periods` and `fx_rates_monthly` name the CTEs (or relations) holding those two models. The
    columns are mrr_monthly's, plus month_number.

    Each period's months are generated as month numbers (every month of a paid period, only the first month,
    the churn month, of a period at 0) and the (currency, month) rate is joined on equality, which is cheaper
    than an interval join of the periods to the rate table. A month's MRR is the period's amount × that month's
    rate, rounded to cents once (a USD period's MRR is rounded once per period). The previous month's MRR is the
    same period's amount at the previous month's rate, or, in a period's first month, the previous period's
    amount at that rate (carried on the period). Every row is worked out from its period and its month alone
    (no window), so leaving months out changes no other row.

    changed_months_only=true leaves out the months whose MRR cannot have changed: after its first month, a USD
    period's MRR and previous MRR are both its usd_mrr (a change of 0), and no revenue line starts or stops
    there (each such month starts a period), so only the first month of a USD period is generated.
    int_mrr_changes_explained, which wants the months with a change or a line event, reads it that way.

    from_month_number (an SQL expression) leaves out the months before it: the incremental mrr_monthly rebuilds
    only the months from the first one a change can reach. -#}
{% macro customer_mrr_months(customer_mrr_periods, fx_rates_monthly, changed_months_only=false,
                             from_month_number=none) -%}
{%- set first_month = 'period_start_month_number' if from_month_number is none
    else 'greatest(period_start_month_number, ' ~ from_month_number ~ ')' -%}
with

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
            first_month,
            'case when amount = 0' ~ (" or currency = 'USD'" if changed_months_only else '')
            ~ ' then period_start_month_number else period_end_month_number end'
        ) }} as month_number
    from {{ customer_mrr_periods }}
    {%- if from_month_number is not none %}
    where period_end_month_number >= {{ from_month_number }}
    {%- endif %}
),

period_months as (
    select
        period_month_numbers.customer_id,
        period_month_numbers.customer_segment,
        month_rates.month,
        period_month_numbers.month_number,
        period_month_numbers.first_paid_month_number,
        period_month_numbers.is_paid_every_month,
        {{ period_usd_mrr(
            'period_month_numbers.currency', 'period_month_numbers.usd_mrr',
            'period_month_numbers.amount', 'month_rates.usd_per_unit'
        ) }} as mrr,
        case
            when period_month_numbers.month_number = period_month_numbers.period_start_month_number
                then period_month_numbers.previous_month_mrr
            when period_month_numbers.currency = 'USD' then period_month_numbers.usd_mrr
            else {{ multiply_to_cents('period_month_numbers.amount', 'month_rates.previous_usd_per_unit') }}
        end as previous_month_mrr,
        {#- NULL when the plan lines are the whole amount: then plan_mrr is mrr, and not worked out twice. #}
        case
            when period_month_numbers.currency = 'USD' then period_month_numbers.usd_plan_mrr
            when period_month_numbers.plan_amount = period_month_numbers.amount then null
            else {{ multiply_to_cents('period_month_numbers.plan_amount', 'month_rates.usd_per_unit') }}
        end as plan_mrr_if_not_all
    from period_month_numbers
    inner join {{ fx_rates_monthly }} as month_rates
        on
            period_month_numbers.currency = month_rates.currency
            and period_month_numbers.month_number = month_rates.month_number
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
    {#- is_paid_every_month first: it spares recomputing the MRR expressions for the filter on most rows. #}
    where is_paid_every_month or mrr > 0 or previous_month_mrr > 0
),

classified as (
    select
        customer_id,
        month,
        month_number,
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
)

select * from classified
{%- endmacro %}
