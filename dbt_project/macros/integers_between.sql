{#- A select-list expression that turns each input row into one row per integer from `lower` through `upper`,
    both included (no row when upper < lower). For spreading a run of month numbers over its months without an
    interval join. -#}
{% macro integers_between(lower, upper) -%}
    {{ return(adapter.dispatch('integers_between', 'expansion')(lower, upper)) }}
{%- endmacro %}

{#- Postgres-style set-returning function in the select list. -#}
{% macro default__integers_between(lower, upper) -%}
    generate_series({{ lower }}, {{ upper }})
{%- endmacro %}

{% macro duckdb__integers_between(lower, upper) -%}
    unnest(range({{ lower }}, {{ upper }} + 1))
{%- endmacro %}

{#- Spark's sequence counts down when upper < lower, so that case gets an empty array. -#}
{% macro spark__integers_between(lower, upper) -%}
    explode(case when {{ upper }} >= {{ lower }} then sequence({{ lower }}, {{ upper }}) else array() end)
{%- endmacro %}
