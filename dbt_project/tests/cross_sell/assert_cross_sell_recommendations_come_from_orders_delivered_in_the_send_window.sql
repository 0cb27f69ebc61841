{#- Fails with each recommendation whose source is not what it claims: the source order must be the
    customer's, delivered (not returned) in the send window before the as-of instant, and hold the source
    product; the send window must be delivered_at + the vars' hours; the rule must beat the minimum lift
    (so the score is positive); ranks must run 1, 2, … up to the top N per customer. -#}
{{ config(meta={'dagster': {'ref': {'name': 'cross_sell_recommendations'}}}) }}

{%- set top_n = var('cross_sell_top_n') | int -%}
{%- set send_after_hours = var('cross_sell_send_after_hours') | int -%}
{%- set send_before_hours = var('cross_sell_send_before_hours') | int -%}
{%- set min_lift = var('cross_sell_min_lift') | float -%}
with

recommendations as (
    select * from {{ ref('cross_sell_recommendations') }}
),

orders as (
    select * from {{ ref('stg_raw__orders') }}
),

order_items as (
    select * from {{ ref('stg_raw__order_items') }}
),

source_lines as (
    select distinct
        order_items.order_id,
        order_items.product_id
    from order_items
    inner join recommendations
        on
            order_items.order_id = recommendations.source_order_id
            and order_items.product_id = recommendations.source_product_id
),

checked as (
    select
        recommendations.customer_id,
        recommendations.product_id,
        recommendations.source_order_id,
        recommendations.rank,
        (
            orders.order_id is not null
            and orders.customer_id = recommendations.customer_id
            and orders.status = 'delivered'
            and orders.delivered_at >= {{ dbt.dateadd('hour', -1 * send_before_hours, as_of_ts()) }}
            and orders.delivered_at < {{ dbt.dateadd('hour', -1 * send_after_hours, as_of_ts()) }}
        ) as is_source_order_in_window,
        source_lines.product_id is not null as is_source_product_on_order,
        (
            recommendations.send_after = {{ dbt.dateadd('hour', send_after_hours, 'orders.delivered_at') }}
            and recommendations.send_before = {{ dbt.dateadd('hour', send_before_hours, 'orders.delivered_at') }}
        ) as is_send_window_right,
        (recommendations.lift > {{ min_lift }} and recommendations.score > 0) as is_rule_above_chance,
        (
            recommendations.rank between 1 and {{ top_n }}
            and recommendations.rank = row_number() over (
                partition by recommendations.customer_id order by recommendations.rank
            )
        ) as is_rank_consecutive
    from recommendations
    left join orders
        on recommendations.source_order_id = orders.order_id
    left join source_lines
        on
            recommendations.source_order_id = source_lines.order_id
            and recommendations.source_product_id = source_lines.product_id
),

final as (
    select * from checked
    where not (
        coalesce(is_source_order_in_window, false)
        and is_source_product_on_order
        and coalesce(is_send_window_right, false)
        and coalesce(is_rule_above_chance, false)
        and coalesce(is_rank_consecutive, false)
    )
)

select * from final
