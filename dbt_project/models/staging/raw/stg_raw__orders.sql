with

source_orders as (
    select * from {{ source('raw', 'orders') }}
),

typed as (
    select
        cast(order_id as string) as order_id,
        cast(customer_id as string) as customer_id,
        cast(ordered_at as timestamp) as ordered_at,
        cast(status as string) as status,
        cast(delivered_at as timestamp) as delivered_at,
        cast(currency as string) as currency,
        cast(updated_at as timestamp) as updated_at
    from source_orders
),

final as (
    select
        *,
        status <> 'cancelled' as is_counted,
        delivered_at is not null and status in ('delivered', 'returned') as is_delivered
    from typed
)

select * from final
