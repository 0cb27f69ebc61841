{#- A date or timestamp's month as one integer, year × 12 + month − 1 (2026-01 is 24312): the number the
    revenue models count, join and compare months by, so that "the next month" is + 1 and a run of months is
    a range of integers. -#}
{% macro month_number(date_expression) -%}
    {{ return(adapter.dispatch('month_number', 'expansion')(date_expression)) }}
{%- endmacro %}

{#- Standard SQL EXTRACT, which DuckDB and Spark SQL (3.0+) both accept; DuckDB's is a BIGINT, hence the cast. -#}
{% macro default__month_number(date_expression) -%}
    cast(extract(year from {{ date_expression }}) * 12 + extract(month from {{ date_expression }}) - 1 as integer)
{%- endmacro %}
