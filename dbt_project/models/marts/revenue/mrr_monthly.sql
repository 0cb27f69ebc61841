{#- One row per customer per month from the first paid month through the as-of month, leaving out the
    months after a churn until a reactivation (the churn month itself has a row). Beyond the contract's
    columns it carries the customer's segment, which nrr_monthly_by_segment sums by (cheaper to write here
    than to join a customer × month table to customers there), and `_load_id` (incremental bookkeeping).

    Built from int_customer_mrr_periods by macros/revenue/customer_mrr_months.sql: each period spreads over its
    months, a month's MRR is the period's amount × that month's rate, rounded to cents once, and a period
    whose amount is 0 yields at most its first month (the churn month), so the months after a churn cost
    nothing. Every row is worked out from its period and its month alone.

    Incremental: a build rewrites the months from the first one a change can reach, for every customer, and
    keeps the months before it. That month is the earliest of: the previous build's as-of month (its state at
    the as-of instant and its month's rates move with the as-of date), the first month of any customer whose
    subscription lines or segment changed since the previous build (the first of its old rows and of its new
    lines), and the first month of any rate that changed. A daily refresh rewrites the as-of month (and the
    previous one across a month end); a correction two years back rewrites two years. Runs move forward: an
    as-of date before the previous build's month needs `--full-refresh`. -#}
{%- set first_rebuilt_month_number = mrr_first_rebuilt_month_number() if is_incremental() else none -%}
{{
    config(
        materialized='incremental',
        incremental_strategy=partition_replacing_strategy(),
        unique_key=['month'],
        partition_by=['month'],
        file_format='parquet',
        on_schema_change='fail',
        pre_hook=delete_months_from(first_rebuilt_month_number),
    )
}}
-- depends_on: {{ ref('stg_audit__changed_partitions') }}

with

customer_mrr_periods as (
    select * from {{ ref('int_customer_mrr_periods') }}
),

fx_rates_monthly as (
    select * from {{ ref('int_fx_rates_monthly') }}
),

customer_months as (
    {{ customer_mrr_months('customer_mrr_periods', 'fx_rates_monthly', from_month_number=first_rebuilt_month_number) }}
),

final as (
    select
        customer_id,
        month,
        mrr,
        previous_mrr,
        mrr_change,
        movement,
        plan_mrr,
        addon_mrr,
        segment,
        {{ latest_load_id() }} as _load_id
    from customer_months
)

select * from final
