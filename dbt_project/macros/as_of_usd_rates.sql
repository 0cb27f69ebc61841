{#- A query (use it as the body of a CTE) giving each currency's rate on the as-of date, from `fx_rates_daily`
    (int_fx_rates_daily: pass ref('int_fx_rates_daily'), or a CTE reading it): currency and usd_per_unit, the
    latter as DOUBLE, for the models that only rank and route by amounts converted at today's rate. -#}
{% macro as_of_usd_rates(fx_rates_daily) -%}
    select
        currency,
        cast(usd_per_unit as double) as usd_per_unit
    from {{ fx_rates_daily }}
    where rate_date = {{ as_of_date() }}
{%- endmacro %}
