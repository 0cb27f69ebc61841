{#- One row per currency per month: the rate that converts the month's MRR to US dollars.

    A month's MRR is the state at the month's last moment, converted with the latest rate on or before the
    month's last day; in the as-of month the state at the as-of instant counts, so the rate is the as-of
    date's (int_fx_rates_daily holds no day after it). A month before a currency's first quote falls back to
    its earliest quoted rate. The months run from the month before the first subscription line starts (so
    every month a line can be valid in has a previous month's rate) through the as-of month. -#}
{%- set as_of_month_number = month_number(as_of_date()) -%}

with

fx_rates_daily as (
    select * from {{ ref('int_fx_rates_daily') }}
),

subscription_items as (
    select * from {{ ref('stg_raw__subscription_items') }}
),

first_line_month as (
    select cast({{ dbt.date_trunc('month', 'min(valid_from)') }} as date) as first_month
    from subscription_items
    where valid_from < {{ as_of_ts() }}
),

calendar_days as (
    {{ date_spine(dbt.dateadd('month', -1, '(select first_month from first_line_month)'), as_of_date()) }}
),

calendar_months as (
    select
        date_day as month,
        {{ month_number('date_day') }} as month_number,
        case
            when {{ month_number('date_day') }} = {{ as_of_month_number }} then {{ as_of_date() }}
            else cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'date_day')) }} as date)
        end as rate_date
    from calendar_days
    where extract(day from date_day) = 1
),

{# Every currency that has a rate or a subscription line, and USD. A line's currency with no rate at all
    leaves usd_per_unit NULL, which the not_null test turns into a failed build rather than lost revenue. #}
currencies as (
    select currency from fx_rates_daily
    union
    select currency from subscription_items
    union
    select cast('USD' as string) as currency
),

ranked_rates as (
    select
        currency,
        usd_per_unit,
        row_number() over (partition by currency order by rate_date) as rate_rank
    from fx_rates_daily
),

earliest_rates as (
    select
        currency,
        usd_per_unit as earliest_usd_per_unit
    from ranked_rates
    where rate_rank = 1
),

monthly_rates as (
    select
        currencies.currency,
        calendar_months.month,
        calendar_months.month_number,
        calendar_months.rate_date,
        case
            when currencies.currency = 'USD' then cast(1 as decimal(18, 8))
            else cast(coalesce(fx_rates_daily.usd_per_unit, earliest_rates.earliest_usd_per_unit) as decimal(18, 8))
        end as usd_per_unit,
        coalesce(currencies.currency <> 'USD' and fx_rates_daily.usd_per_unit is null, false) as is_fallback_rate
    from currencies
    cross join calendar_months
    left join fx_rates_daily
        on
            currencies.currency = fx_rates_daily.currency
            and calendar_months.rate_date = fx_rates_daily.rate_date
    left join earliest_rates
        on currencies.currency = earliest_rates.currency
),

final as (
    {#- Columns in the table's published order, calculated ones among them (hence no ST06). #}
    select -- noqa: ST06
        currency,
        month,
        month_number,
        rate_date,
        usd_per_unit,
        lag(usd_per_unit) over (partition by currency order by month_number) as previous_usd_per_unit,
        lag(usd_per_unit, 12) over (partition by currency order by month_number) as usd_per_unit_12_months_earlier,
        min(usd_per_unit) over (partition by currency) as lowest_usd_per_unit,
        is_fallback_rate
    from monthly_rates
)

select * from final
