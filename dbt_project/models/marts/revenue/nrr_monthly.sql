{#- One row per month: the whole book's MRR bridge and 12-month net and gross revenue retention, the sum of
    nrr_monthly_by_segment over segments (every customer is in exactly one segment, so the segment sums add up
    to the whole; the ratios are recomputed from the summed parts, not averaged). -#}
with

nrr_monthly_by_segment as (
    select * from {{ ref('nrr_monthly_by_segment') }}
),

summed as (
    select
        month,
        sum(starting_mrr) as starting_mrr,
        sum(new_mrr) as new_mrr,
        sum(expansion_mrr) as expansion_mrr,
        sum(contraction_mrr) as contraction_mrr,
        sum(churned_mrr) as churned_mrr,
        sum(reactivation_mrr) as reactivation_mrr,
        sum(ending_mrr) as ending_mrr,
        sum(cohort_mrr_12m) as cohort_mrr_12m,
        sum(retained_mrr_12m) as retained_mrr_12m,
        sum(capped_retained_mrr_12m) as capped_retained_mrr_12m
    from nrr_monthly_by_segment
    group by month
),

final as (
    select
        month,
        cast(starting_mrr as decimal(18, 2)) as starting_mrr,
        cast(new_mrr as decimal(18, 2)) as new_mrr,
        cast(expansion_mrr as decimal(18, 2)) as expansion_mrr,
        cast(contraction_mrr as decimal(18, 2)) as contraction_mrr,
        cast(churned_mrr as decimal(18, 2)) as churned_mrr,
        cast(reactivation_mrr as decimal(18, 2)) as reactivation_mrr,
        cast(ending_mrr as decimal(18, 2)) as ending_mrr,
        {{ retention_ratio('retained_mrr_12m', 'cohort_mrr_12m') }} as nrr_12m,
        {{ retention_ratio('capped_retained_mrr_12m', 'cohort_mrr_12m') }} as grr_12m,
        cast(cohort_mrr_12m as decimal(18, 2)) as cohort_mrr_12m,
        cast(retained_mrr_12m as decimal(18, 2)) as retained_mrr_12m,
        cast(capped_retained_mrr_12m as decimal(18, 2)) as capped_retained_mrr_12m
    from summed
)

select * from final
