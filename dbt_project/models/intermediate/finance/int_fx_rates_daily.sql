with

fx_rates as (
    select * from {{ ref('stg_raw__fx_rates') }}
),

rates_until_as_of as (
    select
        currency,
        rate_date,
        usd_per_unit
    from fx_rates
    where rate_date <= {{ as_of_date() }}
),

-- Each quoted rate holds from its rate_date until the day before the currency's next rate (the last
-- one through the as-of date). USD is always 1, whatever fx_rates says about it.
rate_validity as (
    select
        currency,
        rate_date as valid_from_date,
        coalesce(
            lead(rate_date) over (partition by currency order by rate_date),
            cast({{ dbt.dateadd('day', 1, as_of_date()) }} as date)
        ) as valid_until_date,
        usd_per_unit
    from rates_until_as_of
    where currency <> 'USD'
),

calendar_days as (
    {{ date_spine('(select min(rate_date) from rates_until_as_of)', as_of_date()) }}
),

forward_filled_rates as (
    select
        rate_validity.currency,
        calendar_days.date_day as rate_date,
        rate_validity.usd_per_unit
    from rate_validity
    inner join calendar_days
        on
            rate_validity.valid_from_date <= calendar_days.date_day
            and rate_validity.valid_until_date > calendar_days.date_day
),

usd_rates as (
    select
        cast('USD' as string) as currency,
        calendar_days.date_day as rate_date,
        cast(1 as decimal(18, 8)) as usd_per_unit
    from calendar_days
),

final as (
    select * from forward_filled_rates
    union all
    select * from usd_rates
)

select * from final
