with

source_customers as (
    select * from {{ source('raw', 'customers') }}
),

typed as (
    select
        cast(customer_id as string) as customer_id,
        cast(name as string) as name,
        cast(email_domain as string) as email_domain,
        cast(segment as string) as segment,
        cast(country as string) as country,
        cast(created_at as timestamp) as created_at
    from source_customers
),

final as (
    select * from typed
)

select * from final
