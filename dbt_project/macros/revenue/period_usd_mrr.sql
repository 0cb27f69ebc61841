{#- An MRR period's MRR in one month, in USD rounded to cents: for a USD period its usd_mrr, rounded once per
    period (the same every month), for any other currency its amount × that month's rate, rounded once. The
    arguments are SQL expressions: the period's currency, its precomputed USD MRR, its native amount, and the
    month's usd_per_unit. -#}
{% macro period_usd_mrr(currency, usd_mrr, amount, usd_per_unit) -%}
    case
        when {{ currency }} = 'USD' then {{ usd_mrr }}
        else {{ multiply_to_cents(amount, usd_per_unit) }}
    end
{%- endmacro %}
