{#- The as-of instant: the end of the `as_of_date` var's day in UTC (default: today, UTC).
    as_of_date() is that date; as_of_ts() the first instant after it, so "before the as-of instant"
    is `< as_of_ts()` and the day itself is included. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', '') | string | trim -%}
    {%- if value in ('', 'none', 'None', 'today') -%}
        {%- set value = modules.datetime.datetime.now(modules.pytz.utc).date().isoformat() -%}
    {%- endif -%}
    {%- if not modules.re.match('^\d{4}-\d{2}-\d{2}$', value) -%}
        {{ exceptions.raise_compiler_error(
            "The dbt var as_of_date must be an ISO date like 2026-11-22, not '" ~ value ~ "'."
        ) }}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{% macro as_of_ts() -%}
    cast({{ dbt.dateadd('day', 1, as_of_date()) }} as timestamp)
{%- endmacro %}
