{#- Written between a CTE's `as` and its body (`name as {{ cte_not_materialized() }}(...)`): asks the warehouse
    to inline the CTE into each query that reads it instead of computing it once into a temporary result, for
    a CTE that is cheaper to scan twice than to materialise. Empty where CTEs have no such hint. -#}
{% macro cte_not_materialized() -%}
    {{ return(adapter.dispatch('cte_not_materialized', 'expansion')()) }}
{%- endmacro %}

{#- Spark SQL and most warehouses have no such hint. -#}
{% macro default__cte_not_materialized() -%}
{%- endmacro %}

{#- DuckDB may materialise a CTE that is read more than once unless told not to. -#}
{% macro duckdb__cte_not_materialized() -%}
    not materialized
{%- endmacro %}
