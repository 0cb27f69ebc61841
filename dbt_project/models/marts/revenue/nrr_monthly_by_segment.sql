{#- One row per month per customer segment (customers.segment): the MRR bridge and 12-month net and gross
    revenue retention of that segment's customers, with the same columns as nrr_monthly plus the sums the
    retention ratios are made of. A customer counts in its current segment for every month.

    Movement sums come from mrr_monthly, which carries each customer's segment. Retention needs each
    customer's MRR now and 12 months ago: rather than joining the customer × month rows to themselves, each
    paid MRR period is paired with the customer's paid periods that overlap it 12 months later, and only
    those overlapping months are spread out and summed per month. -#}

with

mrr_monthly as (
    select * from {{ ref('mrr_monthly') }}
),

customer_mrr_periods as (
    select * from {{ ref('int_customer_mrr_periods') }}
),

fx_rates_monthly as (
    select * from {{ ref('int_fx_rates_monthly') }}
),

movement_sums as (
    select
        month,
        segment as customer_segment,
        sum(case when movement = 'new' then mrr_change else 0 end) as new_mrr,
        sum(case when movement = 'expansion' then mrr_change else 0 end) as expansion_mrr,
        -sum(case when movement = 'contraction' then mrr_change else 0 end) as contraction_mrr,
        -sum(case when movement = 'churn' then mrr_change else 0 end) as churned_mrr,
        sum(case when movement = 'reactivation' then mrr_change else 0 end) as reactivation_mrr,
        sum(mrr) as ending_mrr
    from mrr_monthly
    group by month, segment
),

{# Every month from the first with an MRR row through the as-of month, for every segment with a row. #}
months as (
    select
        month,
        month_number
    from fx_rates_monthly
    where
        currency = 'USD'
        and month >= (select min(movement_sums.month) from movement_sums)
),

segments as (
    select distinct customer_segment
    from movement_sums
),

month_segments as (
    select
        months.month,
        months.month_number,
        segments.customer_segment
    from months
    cross join segments
),

paid_periods as (
    select * from customer_mrr_periods
    where amount > 0
),

{# Pairs of a paid period (12 months back) and a paid period of the same customer overlapping it 12
    months later; months_from/months_to bound the later months both cover. A customer's periods are all in
    one currency (see int_customer_mrr_periods). #}
retention_pairs as (
    select
        earlier_periods.customer_segment,
        earlier_periods.currency,
        earlier_periods.amount as earlier_amount,
        later_periods.amount as later_amount,
        earlier_periods.usd_mrr as earlier_usd_mrr,
        later_periods.usd_mrr as later_usd_mrr,
        case
            when earlier_periods.period_start_month_number + 12 > later_periods.period_start_month_number
                then earlier_periods.period_start_month_number + 12
            else later_periods.period_start_month_number
        end as months_from,
        case
            when earlier_periods.period_end_month_number + 12 < later_periods.period_end_month_number
                then earlier_periods.period_end_month_number + 12
            else later_periods.period_end_month_number
        end as months_to
    from paid_periods as earlier_periods
    inner join paid_periods as later_periods
        on
            earlier_periods.customer_id = later_periods.customer_id
            and later_periods.period_start_month_number <= earlier_periods.period_end_month_number + 12
            and later_periods.period_end_month_number >= earlier_periods.period_start_month_number + 12
),

retention_month_numbers as (
    select
        customer_segment,
        currency,
        earlier_amount,
        later_amount,
        earlier_usd_mrr,
        later_usd_mrr,
        {{ integers_between('months_from', 'months_to') }} as month_number
    from retention_pairs
),

retention_months as (
    select
        retention_month_numbers.customer_segment,
        retention_month_numbers.month_number,
        {{ period_usd_mrr(
            'retention_month_numbers.currency', 'retention_month_numbers.earlier_usd_mrr',
            'retention_month_numbers.earlier_amount', 'fx_rates_monthly.usd_per_unit_12_months_earlier'
        ) }} as mrr_12_months_earlier,
        {{ period_usd_mrr(
            'retention_month_numbers.currency', 'retention_month_numbers.later_usd_mrr',
            'retention_month_numbers.later_amount', 'fx_rates_monthly.usd_per_unit'
        ) }} as mrr_now
    from retention_month_numbers
    inner join fx_rates_monthly
        on
            retention_month_numbers.currency = fx_rates_monthly.currency
            and retention_month_numbers.month_number = fx_rates_monthly.month_number
),

retention_sums as (
    select
        month_number,
        customer_segment,
        sum(case when mrr_12_months_earlier > 0 then mrr_now else 0 end) as retained_mrr_12m,
        sum(
            case
                when mrr_12_months_earlier > 0 and mrr_now < mrr_12_months_earlier then mrr_now
                when mrr_12_months_earlier > 0 then mrr_12_months_earlier
                else 0
            end
        ) as capped_retained_mrr_12m
    from retention_months
    group by month_number, customer_segment
),

bridged as (
    select
        month_segments.month,
        month_segments.month_number,
        month_segments.customer_segment,
        cast(coalesce(movement_sums.new_mrr, 0) as decimal(18, 2)) as new_mrr,
        cast(coalesce(movement_sums.expansion_mrr, 0) as decimal(18, 2)) as expansion_mrr,
        cast(coalesce(movement_sums.contraction_mrr, 0) as decimal(18, 2)) as contraction_mrr,
        cast(coalesce(movement_sums.churned_mrr, 0) as decimal(18, 2)) as churned_mrr,
        cast(coalesce(movement_sums.reactivation_mrr, 0) as decimal(18, 2)) as reactivation_mrr,
        cast(coalesce(movement_sums.ending_mrr, 0) as decimal(18, 2)) as ending_mrr,
        cast(coalesce(retention_sums.retained_mrr_12m, 0) as decimal(18, 2)) as retained_mrr_12m,
        cast(coalesce(retention_sums.capped_retained_mrr_12m, 0) as decimal(18, 2)) as capped_retained_mrr_12m
    from month_segments
    left join movement_sums
        on
            month_segments.month = movement_sums.month
            and month_segments.customer_segment = movement_sums.customer_segment
    left join retention_sums
        on
            month_segments.month_number = retention_sums.month_number
            and month_segments.customer_segment = retention_sums.customer_segment
),

with_history as (
    select
        *,
        coalesce(
            lag(ending_mrr) over (partition by customer_segment order by month_number), cast(0 as decimal(18, 2))
        ) as starting_mrr,
        lag(ending_mrr, 12) over (partition by customer_segment order by month_number) as cohort_mrr_12m
    from bridged
),

final as (
    select
        month,
        customer_segment as segment,
        starting_mrr,
        new_mrr,
        expansion_mrr,
        contraction_mrr,
        churned_mrr,
        reactivation_mrr,
        ending_mrr,
        {{ retention_ratio('retained_mrr_12m', 'cohort_mrr_12m') }} as nrr_12m,
        {{ retention_ratio('capped_retained_mrr_12m', 'cohort_mrr_12m') }} as grr_12m,
        cohort_mrr_12m,
        case when cohort_mrr_12m is not null then retained_mrr_12m end as retained_mrr_12m,
        case when cohort_mrr_12m is not null then capped_retained_mrr_12m end as capped_retained_mrr_12m
    from with_history
)

select * from final
