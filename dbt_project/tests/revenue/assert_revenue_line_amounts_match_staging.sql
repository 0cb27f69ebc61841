{#- int_customer_mrr_periods computes a line's monthly amount itself on DuckDB (staging's exact division
    is slow there); this returns every revenue-bearing subscription line whose amount, computed the same way,
    differs from staging's monthly_amount, so the two can never drift apart. -#}
with

subscription_items as (
    select * from {{ ref('stg_raw__subscription_items') }}
),

recomputed as (
    select
        item_id,
        monthly_amount,
        {%- if target.type == 'duckdb' %}
            case
                when months_per_period = 1 then cast(cast(unit_price as decimal(38, 4)) * quantity as decimal(38, 10))
                when months_per_period = 12
                    then
                        cast((cast(unit_price * 10000 as bigint) * quantity * 250000 + 1) // 3 as decimal(38, 0))
                        * cast(0.0000000001 as decimal(38, 10))
            end as recomputed_monthly_amount
        {%- else %}
        monthly_amount as recomputed_monthly_amount
        {%- endif %}
    from subscription_items
    where is_revenue_bearing
),

final as (
    select * from recomputed
    where recomputed_monthly_amount is null or recomputed_monthly_amount <> monthly_amount
)

select * from final
