{#- A number cut to `scale` decimals towards zero (no rounding): 1.23456 at scale 2 is 1.23, -1.23456 is -1.23. -#}
{% macro truncate_decimal(expression, scale) -%}
    {{ return(adapter.dispatch('truncate_decimal', 'expansion')(expression, scale)) }}
{%- endmacro %}

{#- DuckDB, Postgres, Snowflake, BigQuery and Redshift all have trunc(number, scale). -#}
{% macro default__truncate_decimal(expression, scale) -%}
    trunc({{ expression }}, {{ scale }})
{%- endmacro %}

{#- Spark's trunc() is for dates; floor and ceil take a scale from Spark 3.3 on. -#}
{% macro spark__truncate_decimal(expression, scale) -%}
    case
        when {{ expression }} < 0 then ceil({{ expression }}, {{ scale }})
        else floor({{ expression }}, {{ scale }})
    end
{%- endmacro %}
