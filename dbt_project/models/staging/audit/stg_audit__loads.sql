with

source_load_history as (
    select * from {{ source('audit', 'load_history') }}
),

final as (
    select cast(load_id as bigint) as load_id
    from source_load_history
)

select * from final
