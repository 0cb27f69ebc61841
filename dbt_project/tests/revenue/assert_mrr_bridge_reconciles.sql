{#- The MRR bridge holds exactly, every month: previous month's ending_mrr + new + expansion − contraction
    − churned + reactivation = ending_mrr, in nrr_monthly and in every segment of nrr_monthly_by_segment;
    starting_mrr is the previous month's ending_mrr (0 in the first month); and ending_mrr is the sum of
    mrr_monthly.mrr that month. Returns one row per month (and segment) and broken rule; exact decimal
    comparisons, no tolerance. -#}
{{ config(meta={'dagster': {'ref': {'name': 'nrr_monthly'}}}) }}

with

nrr_monthly as (
    select * from {{ ref('nrr_monthly') }}
),

nrr_monthly_by_segment as (
    select * from {{ ref('nrr_monthly_by_segment') }}
),

mrr_monthly as (
    select * from {{ ref('mrr_monthly') }}
),

overall as (
    select
        month,
        cast('all' as string) as segment,
        starting_mrr,
        new_mrr,
        expansion_mrr,
        contraction_mrr,
        churned_mrr,
        reactivation_mrr,
        ending_mrr,
        coalesce(lag(ending_mrr) over (order by month), 0) as previous_ending_mrr
    from nrr_monthly
),

by_segment as (
    select
        month,
        segment,
        starting_mrr,
        new_mrr,
        expansion_mrr,
        contraction_mrr,
        churned_mrr,
        reactivation_mrr,
        ending_mrr,
        coalesce(lag(ending_mrr) over (partition by segment order by month), 0) as previous_ending_mrr
    from nrr_monthly_by_segment
),

bridges as (
    select * from overall
    union all
    select * from by_segment
),

month_totals as (
    select
        month,
        sum(mrr) as total_mrr
    from mrr_monthly
    group by month
),

broken_bridges as (
    select
        month,
        segment,
        cast('previous ending + new + expansion - contraction - churned + reactivation <> ending' as string) as failure
    from bridges
    where
        previous_ending_mrr + new_mrr + expansion_mrr - contraction_mrr - churned_mrr + reactivation_mrr
        <> ending_mrr
    union all
    select
        month,
        segment,
        cast('starting_mrr <> previous month ending_mrr' as string) as failure
    from bridges
    where starting_mrr <> previous_ending_mrr
),

unreconciled_totals as (
    select
        coalesce(overall.month, month_totals.month) as month,
        cast('all' as string) as segment,
        cast('ending_mrr <> sum of mrr_monthly.mrr' as string) as failure
    from overall
    full outer join month_totals
        on overall.month = month_totals.month
    where coalesce(overall.ending_mrr, 0) <> coalesce(month_totals.total_mrr, 0)
),

final as (
    select * from broken_bridges
    union all
    select * from unreconciled_totals
)

select * from final
