{#- Numbers as the upgrade evidence writes them. whole_number_text: rounded to a whole number ("45").
    floored_percent_text: a ratio as a whole percentage, floored so that it never overstates (249 of 250 seats
    is "99", not "100"); 1e-9 absorbs the float error of an exact ratio (0.29 × 100 = 28.999999999999996). The
    ratio is written as is after `100 * ` (a quotient a / b stays (100 * a) / b). -#}
{% macro whole_number_text(expression) -%}
    cast(cast(round({{ expression }}) as bigint) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro floored_percent_text(ratio) -%}
    cast(cast(floor(100 * {{ ratio }} + 1e-9) as bigint) as {{ dbt.type_string() }})
{%- endmacro %}
