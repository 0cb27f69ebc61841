{#- Divide two numbers and keep the result an exact DECIMAL(38, scale), rounded half away from zero at
    the last kept digit. Used to normalise money to a month (÷ 12) without passing through a float:
    DuckDB turns any DECIMAL / DECIMAL into a DOUBLE, so its implementation divides scaled integers.
    A zero denominator gives NULL. -#}
{% macro decimal_divide(numerator, denominator, scale=10) -%}
    {{ return(adapter.dispatch('decimal_divide', 'expansion')(numerator, denominator, scale)) }}
{%- endmacro %}

{#- Spark and most warehouses divide decimals as decimals; the cast fixes the result's scale. -#}
{% macro default__decimal_divide(numerator, denominator, scale) -%}
    cast(
        cast({{ numerator }} as decimal(38, {{ scale }})) / nullif({{ denominator }}, 0)
        as decimal(38, {{ scale }})
    )
{%- endmacro %}

{#- DuckDB: numerator scaled to an integer of 10^-scale units (exact, HUGEINT), integer-divided with
    rounding, then turned back into a DECIMAL by multiplying with the DECIMAL 10^-scale. -#}
{% macro duckdb__decimal_divide(numerator, denominator, scale) -%}
    {%- set scaled_numerator =
        'cast(cast(' ~ numerator ~ ' as decimal(38, ' ~ scale ~ ')) * ' ~ (10 ** scale) ~ ' as hugeint)' -%}
    {%- set integer_denominator = 'cast(nullif(' ~ denominator ~ ', 0) as hugeint)' -%}
    {%- set unit = '0.' ~ ('0' * (scale - 1)) ~ '1' -%}
    cast(
        cast(
            (2 * abs({{ scaled_numerator }}) + abs({{ integer_denominator }}))
            // (2 * abs({{ integer_denominator }}))
            * sign({{ scaled_numerator }}) * sign({{ integer_denominator }})
            as decimal(38, 0)
        ) * {{ unit }}
        as decimal(38, {{ scale }})
    )
{%- endmacro %}

{#- Spark: a DECIMAL(38, s) divided by an integer would lose its scale (Spark keeps 38 digits and cuts the scale to
    6), so the numerator is cast to 28 digits (18 before the point) and the denominator to an integer DECIMAL: the
    quotient keeps 20 decimals, and the cast rounds it half away from zero at the kept digit, as DuckDB's does. -#}
{% macro spark__decimal_divide(numerator, denominator, scale) -%}
    cast(
        cast({{ numerator }} as decimal(28, {{ scale }})) / cast(nullif({{ denominator }}, 0) as decimal(10, 0))
        as decimal(38, {{ scale }})
    )
{%- endmacro %}
