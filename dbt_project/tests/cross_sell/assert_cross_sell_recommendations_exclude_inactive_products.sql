{#- Fails with each recommendation of a product that is no longer sold (or is not in the catalogue). -#}
{{ config(meta={'dagster': {'ref': {'name': 'cross_sell_recommendations'}}}) }}

with

recommendations as (
    select * from {{ ref('cross_sell_recommendations') }}
),

products as (
    select * from {{ ref('stg_raw__products') }}
),

inactive_recommendations as (
    select
        recommendations.customer_id,
        recommendations.product_id,
        products.is_active
    from recommendations
    left join products
        on recommendations.product_id = products.product_id
    where not coalesce(products.is_active, false)
),

final as (
    select * from inactive_recommendations
)

select * from final
