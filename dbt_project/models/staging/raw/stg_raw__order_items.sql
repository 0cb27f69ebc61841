with

source_order_items as (
    select * from {{ source('raw', 'order_items') }}
),

typed as (
    select
        cast(order_id as string) as order_id,
        cast(line_number as integer) as line_number,
        cast(product_id as string) as product_id,
        cast(quantity as integer) as quantity,
        cast(unit_price as decimal(18, 4)) as unit_price,
        cast(coalesce(discount, 0) as decimal(18, 4)) as discount
    from source_order_items
),

final as (
    select
        *,
        cast(cast(unit_price as decimal(38, 4)) * quantity - discount as decimal(38, 4)) as line_amount
    from typed
)

select * from final
