with

source_subscription_items as (
    select * from {{ source('raw', 'subscription_items') }}
),

typed as (
    select
        cast(item_id as string) as item_id,
        cast(subscription_id as string) as subscription_id,
        cast(customer_id as string) as customer_id,
        cast(kind as string) as kind,
        cast(plan_id as string) as plan_id,
        cast(product_id as string) as product_id,
        cast(quantity as integer) as quantity,
        cast(unit_price as decimal(18, 4)) as unit_price,
        cast(billing_period as string) as billing_period,
        cast(currency as string) as currency,
        cast(status as string) as status,
        cast(valid_from as timestamp) as valid_from,
        cast(valid_to as timestamp) as valid_to
    from source_subscription_items
),

billing_periods as (
    select
        *,
        case billing_period
            when 'month' then 1
            when 'year' then 12
        end as months_per_period,
        coalesce(status = 'active', false) as is_revenue_bearing
    from typed
),

-- monthly_amount is the line's MRR (macros/line_monthly_amount.sql): exact DECIMAL(38,10), no float on the
-- way and no rounding to cents, so MRR sums reconcile. The revenue models read it from here.
final as (
    select
        item_id,
        subscription_id,
        customer_id,
        kind,
        plan_id,
        product_id,
        quantity,
        unit_price,
        billing_period,
        currency,
        status,
        valid_from,
        valid_to,
        months_per_period,
        {{ decimal_divide('unit_price', 'months_per_period') }} as monthly_unit_price,
        is_revenue_bearing,
        {{ line_monthly_amount('quantity', 'unit_price', 'months_per_period', 'is_revenue_bearing') }}
            as monthly_amount
    from billing_periods
)

select * from final
