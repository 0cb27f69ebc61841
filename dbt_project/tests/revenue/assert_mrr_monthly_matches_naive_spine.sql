{#- mrr_monthly must equal a straightforward reading of the contract, computed independently of the
    event-based models: every customer × every month, each subscription_items row tested for validity at
    the month's last moment, converted with the latest fx_rates quote on or before the month's last day
    (the as-of date in the as-of month; the earliest quote before a currency's first), rounded once, then
    movements from the previous calendar month. Returns every customer-month where the two disagree in any
    column, or where a row is in one and not the other. It costs customers × months × lines, so it checks at
    most the first `revenue_naive_check_customers` subscribing customers by customer_id (all of them in
    test data). -#}
{{ config(meta={'dagster': {'ref': {'name': 'mrr_monthly'}}}) }}

{%- set as_of_month = dbt.date_trunc('month', as_of_date()) -%}
{%- set first_line_month = '(select cast(' ~ dbt.date_trunc('month', 'min(valid_from)') ~ ' as date)'
    ~ ' from subscription_items)' -%}

with

subscription_items as (
    select * from {{ ref('stg_raw__subscription_items') }}
),

fx_rates as (
    select * from {{ ref('stg_raw__fx_rates') }}
),

mrr_monthly as (
    select * from {{ ref('mrr_monthly') }}
),

spine_days as (
    {{ date_spine(first_line_month, as_of_date()) }}
),

spine_months as (
    select
        date_day as month,
        case
            when date_day = cast({{ as_of_month }} as date) then {{ as_of_ts() }}
            else cast({{ dbt.dateadd('month', 1, 'date_day') }} as timestamp)
        end as boundary,
        case
            when date_day = cast({{ as_of_month }} as date) then {{ as_of_date() }}
            else cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'date_day')) }} as date)
        end as rate_day
    from spine_days
    where extract(day from date_day) = 1
),

subscribers as (
    select distinct customer_id from subscription_items
    order by customer_id
    limit {{ var('revenue_naive_check_customers') | int }}
),

checked_mrr_monthly as (
    select * from mrr_monthly
    where customer_id in (select subscribers.customer_id from subscribers)
),

customer_months as (
    select
        subscribers.customer_id,
        spine_months.month,
        spine_months.boundary,
        spine_months.rate_day
    from subscribers
    cross join spine_months
),

{# valid at the last moment before `boundary`: valid_from < boundary <= valid_to (valid_to exclusive). #}
valid_rows as (
    select
        customer_months.customer_id,
        customer_months.month,
        customer_months.rate_day,
        subscription_items.kind,
        subscription_items.currency,
        subscription_items.monthly_amount
    from customer_months
    inner join subscription_items
        on
            customer_months.customer_id = subscription_items.customer_id
            and customer_months.boundary > subscription_items.valid_from
            and (subscription_items.valid_to is null or customer_months.boundary <= subscription_items.valid_to)
),

rated_rows as (
    select
        valid_rows.customer_id,
        valid_rows.month,
        valid_rows.kind,
        valid_rows.monthly_amount,
        case
            when valid_rows.currency = 'USD' then cast(1 as decimal(18, 8))
            else coalesce(
                (
                    select max_by(fx_rates.usd_per_unit, fx_rates.rate_date) from fx_rates
                    where fx_rates.currency = valid_rows.currency and fx_rates.rate_date <= valid_rows.rate_day
                ),
                (
                    select min_by(fx_rates.usd_per_unit, fx_rates.rate_date) from fx_rates
                    where fx_rates.currency = valid_rows.currency and fx_rates.rate_date <= {{ as_of_date() }}
                )
            )
        end as usd_per_unit
    from valid_rows
),

customer_month_mrr as (
    select
        customer_months.customer_id,
        customer_months.month,
        cast(round(coalesce(sum(rated_rows.monthly_amount * rated_rows.usd_per_unit), 0), 2) as decimal(18, 2)) as mrr,
        cast(round(coalesce(sum(
            case when rated_rows.kind = 'plan' then rated_rows.monthly_amount * rated_rows.usd_per_unit else 0 end
        ), 0), 2) as decimal(18, 2)) as plan_mrr
    from customer_months
    left join rated_rows
        on
            customer_months.customer_id = rated_rows.customer_id
            and customer_months.month = rated_rows.month
    group by customer_months.customer_id, customer_months.month
),

with_previous as (
    select
        customer_id,
        month,
        mrr,
        plan_mrr,
        coalesce(lag(mrr) over (partition by customer_id order by month), 0) as previous_mrr,
        min(case when mrr > 0 then month end) over (partition by customer_id) as first_paid_month
    from customer_month_mrr
),

expected as (
    select
        customer_id,
        month,
        mrr,
        previous_mrr,
        plan_mrr,
        mrr - previous_mrr as mrr_change,
        case
            when previous_mrr = 0 and month = first_paid_month then 'new'
            when previous_mrr = 0 then 'reactivation'
            when mrr = 0 then 'churn'
            when mrr > previous_mrr then 'expansion'
            when mrr < previous_mrr then 'contraction'
            else 'unchanged'
        end as movement,
        mrr - plan_mrr as addon_mrr
    from with_previous
    where mrr > 0 or previous_mrr > 0
),

final as (
    select
        expected.mrr as expected_mrr,
        mrr_monthly.mrr as actual_mrr,
        expected.previous_mrr as expected_previous_mrr,
        mrr_monthly.previous_mrr as actual_previous_mrr,
        expected.movement as expected_movement,
        mrr_monthly.movement as actual_movement,
        expected.plan_mrr as expected_plan_mrr,
        mrr_monthly.plan_mrr as actual_plan_mrr,
        coalesce(expected.customer_id, mrr_monthly.customer_id) as customer_id,
        coalesce(expected.month, mrr_monthly.month) as month
    from expected
    full outer join checked_mrr_monthly as mrr_monthly
        on
            expected.customer_id = mrr_monthly.customer_id
            and expected.month = mrr_monthly.month
    where
        expected.customer_id is null
        or mrr_monthly.customer_id is null
        or expected.mrr <> mrr_monthly.mrr
        or expected.previous_mrr <> mrr_monthly.previous_mrr
        or expected.mrr_change <> mrr_monthly.mrr_change
        or expected.movement <> mrr_monthly.movement
        or expected.plan_mrr <> mrr_monthly.plan_mrr
        or expected.addon_mrr <> mrr_monthly.addon_mrr
)

select * from final
