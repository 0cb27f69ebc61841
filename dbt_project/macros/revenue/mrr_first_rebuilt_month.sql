{#- The first month the incremental mrr_monthly rewrites (a month number), worked out when the model compiles
    so that the pre-hook and the model agree: the earliest of the previous build's as-of month, the first month
    of every customer whose subscription lines or segment changed since that build (its old rows and its new
    periods), and the first month of every rate that changed; 0 (everything) after a first load of those tables.
    An as-of date before the previous build's month stops the build with one sentence. -#}
{% macro mrr_first_rebuilt_month_number() -%}
    {%- if not execute -%}
        {{ return('0') }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if '_load_id' not in columns -%}
        {{ exceptions.raise_compiler_error(
            "mrr_monthly was built before it was incremental; run once with --full-refresh "
            ~ "(expansion run --full-refresh) to rebuild it."
        ) }}
    {%- endif -%}
    {%- set as_of_month_number = run_query('select ' ~ month_number(as_of_date())).columns[0].values()[0] -%}
    {%- set changed_customers -%}
        select value from ({{ changed_partition_values(['subscription_items', 'customers'], 'customer') }})
    {%- endset -%}
    {%- set first_month -%}
        select
            case when {{ any_table_loaded_whole(['subscription_items', 'customers', 'fx_rates']) }} then 0 end
                as whole_rebuild,
            (select {{ month_number('max(previous.month)') }} from {{ this }} as previous) as previous_as_of_month,
            least(
                (select {{ month_number('min(previous.month)') }} from {{ this }} as previous
                 where previous.customer_id in ({{ changed_customers }})),
                (select min(periods.period_start_month_number) from {{ ref('int_customer_mrr_periods') }} as periods
                 where periods.customer_id in ({{ changed_customers }})),
                (select min(cast(substr(changed.value, 5, 4) as integer) * 12
                            + cast(substr(changed.value, 10, 2) as integer) - 1)
                 from ({{ changed_partition_values(['fx_rates'], 'currency_month') }}) as changed)
            ) as first_changed_month
    {%- endset -%}
    {%- set row = run_query(first_month).rows[0] -%}
    {%- set whole, previous, changed = row[0], row[1], row[2] -%}
    {%- if previous is not none and as_of_month_number < previous -%}
        {{ exceptions.raise_compiler_error(
            "mrr_monthly was last built for a later month than the as-of date " ~ var('as_of_date') ~
            "; run with --full-refresh (dbt build --full-refresh) to rebuild it for an earlier date."
        ) }}
    {%- endif -%}
    {%- set candidates = [as_of_month_number] + ([previous] if previous is not none else [])
        + ([changed] if changed is not none else []) + ([whole] if whole is not none else []) -%}
    {{ return(candidates | min | string) }}
{%- endmacro %}

{#- The incremental mrr_monthly's pre-hook: delete the months it is about to rewrite (a month that has no row
    any more must go too). On Spark, insert_overwrite replaces the rewritten month partitions instead. -#}
{% macro delete_months_from(first_month_number) -%}
    {{ return(adapter.dispatch('delete_months_from', 'expansion')(first_month_number)) }}
{%- endmacro %}

{% macro default__delete_months_from(first_month_number) -%}
    {%- if first_month_number is not none -%}
        delete from {{ this }} where {{ month_number('month') }} >= {{ first_month_number }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__delete_months_from(first_month_number) -%}
{%- endmacro %}
