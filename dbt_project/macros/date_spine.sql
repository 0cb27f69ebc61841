{#- A query returning one row per calendar day from `start_date` through `end_date`, both included, in a
    column `date_day` (DATE). Both arguments are SQL expressions (a scalar subquery is fine); a NULL bound
    gives no rows. Use it as the body of a CTE. -#}
{% macro date_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_spine', 'expansion')(start_date, end_date)) }}
{%- endmacro %}

{#- Portable fallback: 0 … 99,999 days (about 270 years) from five cross-joined digits, added with
    dbt.dateadd. -#}
{% macro default__date_spine(start_date, end_date) -%}
    {%- set digit_values = 'select 0 as digit union all select ' ~ (range(1, 10) | join(' union all select ')) -%}
    {%- set offset_day = dbt.dateadd('day', 'day_offsets.day_offset', 'cast(' ~ start_date ~ ' as date)') -%}
    select cast({{ offset_day }} as date) as date_day
    from (
        select
            ones.digit + 10 * tens.digit + 100 * hundreds.digit + 1000 * thousands.digit
                + 10000 * ten_thousands.digit as day_offset
        from ({{ digit_values }}) as ones
        cross join ({{ digit_values }}) as tens
        cross join ({{ digit_values }}) as hundreds
        cross join ({{ digit_values }}) as thousands
        cross join ({{ digit_values }}) as ten_thousands
    ) as day_offsets
    where {{ offset_day }} <= cast({{ end_date }} as date)
{%- endmacro %}

{% macro duckdb__date_spine(start_date, end_date) -%}
    select cast(unnest(generate_series(
        cast(cast({{ start_date }} as date) as timestamp),
        cast(cast({{ end_date }} as date) as timestamp),
        interval 1 day
    )) as date) as date_day
{%- endmacro %}

{% macro spark__date_spine(start_date, end_date) -%}
    select explode(sequence(cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day)) as date_day
{%- endmacro %}
