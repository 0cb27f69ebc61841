with

source_plans as (
    select * from {{ source('raw', 'plans') }}
),

typed as (
    select
        cast(plan_id as string) as plan_id,
        cast(name as string) as name,
        cast(family as string) as family,
        cast(tier as integer) as tier,
        cast(billing_period as string) as billing_period,
        cast(price as decimal(18, 4)) as price,
        cast(per_seat as boolean) as per_seat,
        cast(currency as string) as currency,
        cast(seat_limit as integer) as seat_limit,
        cast(storage_limit_gb as double) as storage_limit_gb,
        cast(api_calls_limit as bigint) as api_calls_limit,
        cast(features as string) as features
    from source_plans
),

billing_periods as (
    select
        *,
        case billing_period
            when 'month' then 1
            when 'year' then 12
        end as months_per_period
    from typed
),

final as (
    select
        plan_id,
        name,
        family,
        tier,
        billing_period,
        price,
        per_seat,
        currency,
        seat_limit,
        storage_limit_gb,
        api_calls_limit,
        features,
        months_per_period,
        {{ decimal_divide('price', 'months_per_period') }} as monthly_price,
        {{ split_list('features', ';') }} as feature_list
    from billing_periods
)

select * from final
