with

source_usage_events as (
    select * from {{ source('raw', 'usage_events') }}
),

typed as (
    select
        cast(event_id as string) as event_id,
        cast(customer_id as string) as customer_id,
        cast(occurred_at as timestamp) as occurred_at,
        cast(metric as string) as metric,
        cast(value as double) as value,
        cast(feature as string) as feature
    from source_usage_events
),

final as (
    select * from typed
)

select * from final
