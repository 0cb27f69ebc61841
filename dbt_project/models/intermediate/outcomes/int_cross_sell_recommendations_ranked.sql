{#- The post-delivery cross-sell candidates of the as-of date, before holdout and frequency cap: for each order
    of int_source_orders_selected (delivered 24-48 h before the as-of instant to a customer whose primary contact
    consents to e-mail), the rules of copurchase_pairs whose antecedent is on the order propose their
    consequents; products the customer owns, inactive products and higher tiers of a family the customer just
    bought (upsells) are dropped; each proposed product keeps its best source; the customer's top N by score are
    kept. int_cross_sell_send_history records them with their holdout and cap status, and
    marts.cross_sell_recommendations shows the as-of date's rows of that history. (This model was the body of
    cross_sell_recommendations; it sits in intermediate/outcomes only because that is where the send history
    that reads it lives.) -#}
{%- set top_n = var('cross_sell_top_n') | int -%}
{%- set min_lift = var('cross_sell_min_lift') | float -%}
with

source_orders as (
    select * from {{ ref('int_source_orders_selected') }}
),

order_items as (
    select * from {{ ref('stg_raw__order_items') }}
),

products as (
    select * from {{ ref('stg_raw__products') }}
),

copurchase_pairs as (
    select * from {{ ref('copurchase_pairs') }}
),

owned_products as (
    select * from {{ ref('int_customer_products_owned') }}
),

source_products as (
    select distinct
        source_orders.customer_id,
        source_orders.contact_id,
        source_orders.order_id as source_order_id,
        source_orders.send_after,
        source_orders.send_before,
        order_items.product_id as source_product_id
    from source_orders
    inner join order_items
        on source_orders.order_id = order_items.order_id
),

{# The lowest tier the customer just bought in each tiered family: anything above it is an upsell. #}
purchased_family_tiers as (
    select
        source_products.customer_id,
        products.family,
        min(products.tier) as lowest_purchased_tier
    from source_products
    inner join products
        on source_products.source_product_id = products.product_id
    where products.family is not null and products.tier is not null
    group by source_products.customer_id, products.family
),

candidate_rules as (
    select
        source_products.customer_id,
        source_products.contact_id,
        source_products.source_order_id,
        source_products.source_product_id,
        source_products.send_after,
        source_products.send_before,
        copurchase_pairs.paired_product_id as product_id,
        copurchase_pairs.confidence,
        copurchase_pairs.lift,
        copurchase_pairs.confidence * ln(copurchase_pairs.lift) as score
    from source_products
    inner join copurchase_pairs
        on source_products.source_product_id = copurchase_pairs.product_id
    where copurchase_pairs.lift > {{ min_lift }}
),

eligible_candidates as (
    select candidate_rules.*
    from candidate_rules
    inner join products as recommended_products
        on candidate_rules.product_id = recommended_products.product_id
    left join owned_products
        on
            candidate_rules.customer_id = owned_products.customer_id
            and candidate_rules.product_id = owned_products.product_id
    left join purchased_family_tiers
        on
            candidate_rules.customer_id = purchased_family_tiers.customer_id
            and recommended_products.family = purchased_family_tiers.family
    where
        recommended_products.is_active
        and owned_products.product_id is null
        and not coalesce(recommended_products.tier > purchased_family_tiers.lowest_purchased_tier, false)
),

{# A product proposed by several purchased products or orders keeps its best-scoring source. #}
best_sources as (
    select
        eligible_candidates.*,
        row_number() over (
            partition by eligible_candidates.customer_id, eligible_candidates.product_id
            order by
                eligible_candidates.score desc,
                eligible_candidates.confidence desc,
                eligible_candidates.source_product_id asc,
                eligible_candidates.source_order_id asc
        ) as source_rank
    from eligible_candidates
),

ranked_candidates as (
    select
        best_sources.*,
        row_number() over (
            partition by best_sources.customer_id
            order by best_sources.score desc, best_sources.product_id asc
        ) as recommendation_rank
    from best_sources
    where best_sources.source_rank = 1
),

final as (
    select
        ranked_candidates.customer_id,
        ranked_candidates.contact_id,
        ranked_candidates.product_id,
        ranked_candidates.source_order_id,
        ranked_candidates.source_product_id,
        ranked_candidates.recommendation_rank as rank,
        ranked_candidates.score,
        'Bought together with '
        || bought_products.name
        || ' in '
        || cast(cast(round(ranked_candidates.confidence * 100) as integer) as {{ dbt.type_string() }})
        || ' % of its orders, '
        || cast(round(ranked_candidates.lift, 1) as {{ dbt.type_string() }})
        || '× more often than chance' as reason,
        ranked_candidates.send_after,
        ranked_candidates.send_before,
        recommended_products.name as product_name,
        bought_products.name as source_product_name,
        ranked_candidates.confidence,
        ranked_candidates.lift
    from ranked_candidates
    inner join products as recommended_products
        on ranked_candidates.product_id = recommended_products.product_id
    inner join products as bought_products
        on ranked_candidates.source_product_id = bought_products.product_id
    where ranked_candidates.recommendation_rank <= {{ top_n }}
)

select * from final
