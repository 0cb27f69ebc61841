{#- a × b rounded to cents, DECIMAL(18,2), half away from zero: the one rounding of money in the revenue models.
    Rounding a DECIMAL(38,x) is slow on DuckDB, so there the product is taken in DOUBLE and only a product within
    0.001 cent of a half cent (where a DOUBLE could land on the wrong side) is rounded in exact decimals: exact
    while |a × b| < 3e10. Elsewhere it is a plain decimal round. -#}
{% macro multiply_to_cents(a, b) -%}
    {{ return(adapter.dispatch('multiply_to_cents', 'expansion')(a, b)) }}
{%- endmacro %}

{% macro duckdb__multiply_to_cents(a, b) -%}
    case
        when abs(cast({{ a }} as double) * cast({{ b }} as double) * 100
            - round(cast({{ a }} as double) * cast({{ b }} as double) * 100)) > 0.499
            then cast(round({{ a }} * {{ b }}, 2) as decimal(18, 2))
        else cast(cast({{ a }} as double) * cast({{ b }} as double) as decimal(18, 2))
    end
{%- endmacro %}

{% macro default__multiply_to_cents(a, b) -%}
    cast(round({{ a }} * {{ b }}, 2) as decimal(18, 2))
{%- endmacro %}
