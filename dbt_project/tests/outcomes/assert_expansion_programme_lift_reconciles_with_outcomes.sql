{#- Fails with every programme-month whose group counts and conversions differ from a recount of the outcome
    marts (cross-sell e-mails: a customer's recommendations of one date, converted when any of them did; upsell
    flags), or whose interval does not hold the difference (lower <= difference <= upper, within [-1, 1]). -#}
{{ config(meta={'dagster': {'ref': {'name': 'expansion_programme_lift'}}}) }}

with

lift as (
    select * from {{ ref('expansion_programme_lift') }}
),

cross_sell_outcomes as (
    select * from {{ ref('cross_sell_outcomes') }}
),

upgrade_outcomes as (
    select * from {{ ref('upgrade_outcomes') }}
),

recounted_rows as (
    select distinct
        is_holdout,
        'cross_sell' as programme,
        cast({{ dbt.date_trunc('month', 'recommended_on') }} as date) as send_month,
        not is_capped as is_measured,
        customer_id || ':' || cast(recommended_on as {{ dbt.type_string() }}) as unit_key,
        max(case when has_converted then 1 else 0 end) over (
            partition by recommended_on, customer_id
        ) = 1 as has_converted
    from cross_sell_outcomes
    union all
    select
        is_holdout,
        'upsell' as programme,
        cast({{ dbt.date_trunc('month', 'flagged_on') }} as date) as send_month,
        not is_capped and can_move_up as is_measured,
        customer_id || ':' || cast(flagged_on as {{ dbt.type_string() }}) as unit_key,
        has_upgraded as has_converted
    from upgrade_outcomes
),

recounts as (
    select
        programme,
        send_month,
        sum(case when is_measured and not is_holdout then 1 else 0 end) as treated_count,
        sum(case when is_measured and is_holdout then 1 else 0 end) as holdout_count,
        sum(case when is_measured and not is_holdout and has_converted then 1 else 0 end) as treated_conversions,
        sum(case when is_measured and is_holdout and has_converted then 1 else 0 end) as holdout_conversions
    from recounted_rows
    group by programme, send_month
),

final as (
    select
        lift.treated_count,
        recounts.treated_count as recounted_treated_count,
        lift.holdout_count,
        recounts.holdout_count as recounted_holdout_count,
        lift.difference_ci_lower,
        lift.conversion_rate_difference,
        lift.difference_ci_upper,
        coalesce(lift.programme, recounts.programme) as programme,
        coalesce(lift.send_month, recounts.send_month) as send_month
    from lift
    full outer join recounts
        on
            lift.programme = recounts.programme
            and lift.send_month = recounts.send_month
    where
        lift.programme is null
        or recounts.programme is null
        or lift.treated_count <> recounts.treated_count
        or lift.holdout_count <> recounts.holdout_count
        or lift.treated_conversions <> recounts.treated_conversions
        or lift.holdout_conversions <> recounts.holdout_conversions
        or lift.difference_ci_lower > lift.conversion_rate_difference
        or lift.difference_ci_upper < lift.conversion_rate_difference
        or lift.difference_ci_lower < -1
        or lift.difference_ci_upper > 1
)

select * from final
