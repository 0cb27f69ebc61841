{#- A subscription line's MRR in its own currency (the contract's definition): quantity × unit_price normalised
    to one month (a yearly price ÷ 12), and 0 while the line bears no revenue (trialing, paused, canceled).
    Every argument is a SQL expression; months_per_period is 1 or 12 (stg_raw__subscription_items maps the
    billing period). stg_raw__subscription_items.monthly_amount is this, and the revenue models read that column.

    Exact by default: DECIMAL(38,10), one division of the period amount, rounded half away from zero at the
    10th decimal and never to cents, so MRR sums reconcile. as_double=true gives the same amount in DOUBLE
    for models that only rank and route by it (a float is much cheaper than the exact division at scale). -#}
{% macro line_monthly_amount(quantity, unit_price, months_per_period, is_revenue_bearing, as_double=false) -%}
    {{ return(adapter.dispatch('line_monthly_amount', 'expansion')(
        quantity, unit_price, months_per_period, is_revenue_bearing, as_double
    )) }}
{%- endmacro %}

{#- Portable, and what Spark SQL runs: decimal_divide's plain decimal division. -#}
{% macro default__line_monthly_amount(quantity, unit_price, months_per_period, is_revenue_bearing, as_double) -%}
    {%- if as_double -%}
        case
            when {{ is_revenue_bearing }}
                then cast({{ unit_price }} as double) * {{ quantity }} / {{ months_per_period }}
            else 0.0
        end
    {%- else -%}
        case
            when {{ is_revenue_bearing }}
                then {{ decimal_divide(line_period_amount(quantity, unit_price), months_per_period) }}
            else cast(0 as decimal(38, 10))
        end
    {%- endif -%}
{%- endmacro %}

{#- DuckDB: the same value without decimal_divide's HUGEINT division (seconds at a million customers). A monthly
    line is quantity × unit_price exactly. For a yearly line with K = quantity × unit_price × 10^4 (an integer:
    unit_price has 4 decimals), the amount in 10^-10 units is K × 10^6 ÷ 12 = K × 250000 ÷ 3, whose fraction is
    0, 1/3 or 2/3, so rounding half away from zero is (K × 250000 + 1) // 3 for K >= 0. That BIGINT product
    holds while quantity × unit_price stays below 3.6e9 a year. Anything else (negative amounts, other periods)
    takes the exact division. -#}
{% macro duckdb__line_monthly_amount(quantity, unit_price, months_per_period, is_revenue_bearing, as_double) -%}
    {%- if as_double -%}
        {{ default__line_monthly_amount(quantity, unit_price, months_per_period, is_revenue_bearing, as_double) }}
    {%- else -%}
        case
            when {{ is_revenue_bearing }}
                then case
                    when {{ months_per_period }} = 1
                        then cast(cast({{ unit_price }} as decimal(38, 4)) * {{ quantity }} as decimal(38, 10))
                    when {{ months_per_period }} = 12 and {{ quantity }} >= 0 and {{ unit_price }} >= 0
                        then
                            cast(
                                (cast({{ unit_price }} * 10000 as bigint) * {{ quantity }} * 250000 + 1) // 3
                                as decimal(38, 0)
                            ) * cast(0.0000000001 as decimal(38, 10))
                    else {{ decimal_divide(line_period_amount(quantity, unit_price), months_per_period) }}
                end
            else cast(0 as decimal(38, 10))
        end
    {%- endif -%}
{%- endmacro %}

{#- quantity × unit_price for one billing period, exact (DECIMAL(38,4)). -#}
{% macro line_period_amount(quantity, unit_price) -%}
    cast({{ unit_price }} as decimal(38, 4)) * {{ quantity }}
{%- endmacro %}
