with

source_products as (
    select * from {{ source('raw', 'products') }}
),

typed as (
    select
        cast(product_id as string) as product_id,
        cast(sku as string) as sku,
        cast(name as string) as name,
        cast(category as string) as category,
        cast(family as string) as family,
        cast(tier as integer) as tier,
        cast(list_price as decimal(18, 4)) as list_price,
        cast(currency as string) as currency,
        cast(is_active as boolean) as is_active
    from source_products
),

final as (
    select * from typed
)

select * from final
