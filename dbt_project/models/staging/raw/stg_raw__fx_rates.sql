with

source_fx_rates as (
    select * from {{ source('raw', 'fx_rates') }}
),

typed as (
    select
        cast(currency as string) as currency,
        cast(rate_date as date) as rate_date,
        cast(usd_per_unit as decimal(18, 8)) as usd_per_unit
    from source_fx_rates
),

final as (
    select * from typed
)

select * from final
