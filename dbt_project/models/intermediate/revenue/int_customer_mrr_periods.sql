{#- One row per customer per MRR period: a run of months that starts in a month in which one of the
    customer's revenue-bearing subscription lines starts or stops counting, and lasts through the month
    before the next such month (or the as-of month). Within a period the customer's lines, and so their
    amounts in the lines' currency, do not change; only the exchange rate can. This is the event-based core
    of the revenue marts: amounts are summed once per change and carried forward, never per customer × month.

    "Counting for month m" means valid at m's last moment. valid_to is exclusive and timestamps have
    microseconds, so the last moment is the instant before the next month starts and a line counts for m
    when valid_from < start of m + 1 and (valid_to is NULL or valid_to >= start of m + 1): a line starting in
    m counts from m on, and a line with valid_to = 2026-03-01 00:00 counts for February (February's last
    moment, 23:59:59.999999, is before it) and not for March. In the as-of month the as-of instant (the end
    of as_of_date's day) replaces the start of m + 1. In month numbers (macros/month_number.sql: year × 12 +
    month − 1) a line counts from month_number(valid_from) through month_number(valid_to) − 1, or through the
    as-of month when valid_to is NULL or at or after the as-of instant.

    A customer whose lines are all in one currency (every customer the generator makes) has its periods in
    that currency, amounts native, converted per month by mrr_monthly. A customer with lines in
    several currencies (or with an amount so small that it rounds to 0.00 USD in some month) is converted
    here instead, month by month: one period per month in USD, the amount exact to 10 decimals truncated
    towards zero (which rounds to cents exactly as the full-precision amount would). -#}
{%- set as_of_month_number = month_number(as_of_date()) -%}
{#- Window frames: the rows so far, and the whole partition. -#}
{%- set rows_so_far = 'rows between unbounded preceding and current row' -%}
{%- set all_rows = 'rows between unbounded preceding and unbounded following' -%}

with

subscription_items as (
    select * from {{ ref('stg_raw__subscription_items') }}
),

customers as (
    select * from {{ ref('stg_raw__customers') }}
),

fx_rates_monthly as (
    select * from {{ ref('int_fx_rates_monthly') }}
),

{# A line's MRR is staging's monthly_amount (quantity × unit_price ÷ months per period, exact to 10
    decimals, 0 unless active; macros/line_monthly_amount.sql). #}
revenue_lines as (
    select
        customer_id,
        currency,
        kind,
        monthly_amount,
        {{ month_number('valid_from') }} as first_month_number,
        case
            when valid_to is null or valid_to >= {{ as_of_ts() }} then {{ as_of_month_number }}
            else {{ month_number('valid_to') }} - 1
        end as last_month_number
    from subscription_items
    where
        is_revenue_bearing
        and quantity > 0
        and unit_price > 0
        and valid_from < {{ as_of_ts() }}
),

{# Each counted line yields two changes, +amount in the month it starts counting and −amount in the month
    after the last one it counts for (none when it still counts in the as-of month). One pass over the lines
    (a two-row cross join rather than a union of two scans) keeps DuckDB from materializing them. #}
line_edges as (
    select 1 as edge
    union all
    select -1 as edge
),

line_changes as (
    select
        revenue_lines.customer_id,
        revenue_lines.currency,
        case
            when line_edges.edge = 1 then revenue_lines.first_month_number
            else revenue_lines.last_month_number + 1
        end as month_number,
        case when revenue_lines.kind = 'plan' then line_edges.edge * revenue_lines.monthly_amount else 0 end
            as plan_amount_change,
        line_edges.edge * revenue_lines.monthly_amount as amount_change
    from revenue_lines
    cross join line_edges
    where
        revenue_lines.first_month_number <= revenue_lines.last_month_number
        and (line_edges.edge = 1 or revenue_lines.last_month_number < {{ as_of_month_number }})
),

{# Per customer, month and currency (a customer has one currency unless it is converted monthly below). #}
change_months as (
    select
        customer_id,
        month_number,
        currency,
        sum(plan_amount_change) as plan_amount_change,
        sum(amount_change) as amount_change
    from line_changes
    group by customer_id, month_number, currency
),

{# One window pass (one partition and order, so one sort): running amounts, the period's end, the
    customer's currencies, first change month and first period's amount. For a customer with several
    currencies these running amounts mix them and are discarded below. #}
running_amounts as (
    select
        customer_id,
        currency,
        month_number as period_start_month_number,
        coalesce(lead(month_number) over customer_months - 1, {{ as_of_month_number }}) as period_end_month_number,
        sum(plan_amount_change) over customer_months_so_far as plan_amount,
        sum(amount_change) over customer_months_so_far as amount,
        plan_amount_change,
        amount_change,
        min(currency) over customer_all_months as lowest_currency,
        max(currency) over customer_all_months as highest_currency,
        min(month_number) over customer_all_months as first_change_month_number,
        first_value(amount_change) over customer_all_months as first_period_amount
    from change_months
    window
        customer_months as (partition by customer_id order by month_number),
        customer_months_so_far as (partition by customer_id order by month_number {{ rows_so_far }}),
        customer_all_months as (partition by customer_id order by month_number {{ all_rows }})
),

{# The lowest rate each currency ever has: an amount times it below half a cent could round to 0.00 USD in
    some month, so the first period's start would not be the first paid month. #}
lowest_rates as (
    select
        currency,
        min(lowest_usd_per_unit) as lowest_usd_per_unit
    from fx_rates_monthly
    group by currency
),

customer_paths as (
    select
        running_amounts.*,
        running_amounts.lowest_currency <> running_amounts.highest_currency
        or running_amounts.first_period_amount * lowest_rates.lowest_usd_per_unit < 0.005 as is_converted_monthly
    from running_amounts
    left join lowest_rates
        on running_amounts.lowest_currency = lowest_rates.currency
),

single_currency_periods as (
    select
        customer_id,
        lowest_currency as currency,
        period_start_month_number,
        period_end_month_number,
        plan_amount,
        amount,
        amount - amount_change as previous_amount,
        first_change_month_number as first_paid_month_number
    from customer_paths
    where not is_converted_monthly
),

{# Customers with lines in several currencies, or whose first amount is small enough to round to 0.00 USD
    in some month (rare: the first period's start is then not necessarily the first paid month): each
    currency's amounts are carried forward on their own, converted month by month and summed in USD, giving
    one period per month from the first line on, and the first paid month is read off the rounded amounts. #}
monthly_converted_changes as (
    select
        customer_id,
        currency,
        period_start_month_number as month_number,
        plan_amount_change,
        amount_change
    from customer_paths
    where is_converted_monthly
),

monthly_converted_runs as (
    select
        customer_id,
        currency,
        month_number as run_start_month_number,
        coalesce(lead(month_number) over currency_months - 1, {{ as_of_month_number }}) as run_end_month_number,
        sum(plan_amount_change) over currency_months_so_far as plan_amount,
        sum(amount_change) over currency_months_so_far as amount
    from monthly_converted_changes
    window
        currency_months as (partition by customer_id, currency order by month_number),
        currency_months_so_far as (partition by customer_id, currency order by month_number {{ rows_so_far }})
),

monthly_converted_months as (
    select
        monthly_converted_runs.customer_id,
        fx_rates_monthly.month_number,
        sum(monthly_converted_runs.plan_amount * fx_rates_monthly.usd_per_unit) as plan_usd,
        sum(monthly_converted_runs.amount * fx_rates_monthly.usd_per_unit) as amount_usd
    from monthly_converted_runs
    inner join fx_rates_monthly
        on
            monthly_converted_runs.currency = fx_rates_monthly.currency
            and monthly_converted_runs.run_start_month_number <= fx_rates_monthly.month_number
            and monthly_converted_runs.run_end_month_number >= fx_rates_monthly.month_number
    group by monthly_converted_runs.customer_id, fx_rates_monthly.month_number
),

monthly_converted_truncated as (
    select
        customer_id,
        month_number,
        cast({{ truncate_decimal('plan_usd', 10) }} as decimal(38, 10)) as plan_amount,
        cast({{ truncate_decimal('amount_usd', 10) }} as decimal(38, 10)) as amount
    from monthly_converted_months
),

monthly_converted_periods as (
    select
        customer_id,
        cast('USD' as string) as currency,
        month_number as period_start_month_number,
        month_number as period_end_month_number,
        plan_amount,
        amount,
        coalesce(lag(amount) over customer_months, cast(0 as decimal(38, 10))) as previous_amount,
        min(case when amount >= 0.005 then month_number end) over customer_all_months as first_paid_month_number
    from monthly_converted_truncated
    window
        customer_months as (partition by customer_id order by month_number),
        customer_all_months as (partition by customer_id order by month_number {{ all_rows }})
),

all_periods as (
    select * from single_currency_periods
    union all
    select * from monthly_converted_periods
),

final as (
    select
        all_periods.customer_id,
        coalesce(customers.segment, 'unknown') as customer_segment,
        all_periods.currency,
        all_periods.period_start_month_number,
        all_periods.period_end_month_number,
        all_periods.plan_amount,
        all_periods.amount,
        {{ multiply_to_cents('all_periods.previous_amount', 'previous_month_rates.usd_per_unit') }}
            as previous_month_mrr,
        case
            when all_periods.currency = 'USD'
                then {{ multiply_to_cents('all_periods.amount', '1') }}
        end as usd_mrr,
        case
            when all_periods.currency = 'USD'
                then {{ multiply_to_cents('all_periods.plan_amount', '1') }}
        end as usd_plan_mrr,
        all_periods.first_paid_month_number,
        coalesce(all_periods.amount * previous_month_rates.lowest_usd_per_unit >= 0.005, false) as is_paid_every_month
    from all_periods
    left join customers
        on all_periods.customer_id = customers.customer_id
    left join fx_rates_monthly as previous_month_rates
        on
            all_periods.currency = previous_month_rates.currency
            and previous_month_rates.month_number = all_periods.period_start_month_number - 1
)

select * from final
