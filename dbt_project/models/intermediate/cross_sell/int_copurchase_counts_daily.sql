{#- Per day of ordered_at, the counts copurchase_pairs sums over its window: the counted orders, the orders
    holding each product, and the orders holding each unordered pair of products (product_id <
    paired_product_id). An order counts once per product however many lines hold it, and not at all when
    cancelled (a return counts: the products were bought together). Summing days gives exactly the counts of
    the window, so old days fall out of it as the as-of date moves. Incremental: a build rebuilds the days
    that loads of orders or order_items changed since its last build (a new order, a late one for an old day,
    an order cancelled: its day), every day after a first load; each rebuilt day has a `day` row (its
    marker), so a day that lost its orders is replaced too. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy=partition_replacing_strategy(),
        unique_key=['order_date'],
        partition_by=['order_date'],
        file_format='parquet',
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('stg_audit__changed_partitions') }}

with

orders as (
    select * from {{ ref('stg_raw__orders') }}
),

order_items as (
    select * from {{ ref('stg_raw__order_items') }}
),

rebuilt_days as (
    {{ rebuilt_days(['orders', 'order_items'], 'orders', 'orders.ordered_at', 'order_date') }}
),

counted_orders as (
    select
        orders.order_id,
        cast(orders.ordered_at as date) as order_date
    from orders
    where
        orders.is_counted
    {% if is_incremental() -%}
        and cast(orders.ordered_at as date) in (select rebuilt_days.order_date from rebuilt_days)
        {%- endif %}
),

baskets as (
    select distinct
        counted_orders.order_date,
        counted_orders.order_id,
        order_items.product_id
    from order_items
    inner join counted_orders
        on order_items.order_id = counted_orders.order_id
),

day_counts as (
    select
        rebuilt_days.order_date,
        'day' as kind,
        cast(null as string) as product_id,
        cast(null as string) as paired_product_id,
        cast(count(counted_orders.order_id) as bigint) as orders
    from rebuilt_days
    left join counted_orders
        on rebuilt_days.order_date = counted_orders.order_date
    group by rebuilt_days.order_date
),

product_counts as (
    select
        baskets.order_date,
        'product' as kind,
        baskets.product_id,
        cast(null as string) as paired_product_id,
        cast(count(*) as bigint) as orders
    from baskets
    group by baskets.order_date, baskets.product_id
),

pair_counts as (
    select
        product_side.order_date,
        'pair' as kind,
        product_side.product_id,
        paired_side.product_id as paired_product_id,
        cast(count(*) as bigint) as orders
    from baskets as product_side
    inner join baskets as paired_side
        on
            product_side.order_id = paired_side.order_id
            and product_side.product_id < paired_side.product_id
    group by product_side.order_date, product_side.product_id, paired_side.product_id
),

final as (
    select
        counts.*,
        {{ latest_load_id() }} as _load_id
    from (
        select * from day_counts
        union all
        select * from product_counts
        union all
        select * from pair_counts
    ) as counts
)

select * from final
