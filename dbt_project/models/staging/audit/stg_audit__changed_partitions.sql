with

source_changed_partitions as (
    select * from {{ source('audit', 'changed_partitions') }}
),

final as (
    select
        cast(load_id as bigint) as load_id,
        cast(table_name as string) as table_name,
        cast(kind as string) as kind,
        cast(value as string) as value
    from source_changed_partitions
)

select * from final
