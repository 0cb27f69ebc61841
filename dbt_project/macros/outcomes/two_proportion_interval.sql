{#- The 95 % interval of a difference of two proportions by Newcombe's hybrid score method (Newcombe 1998,
    "Interval estimation for the difference between independent proportions", Statistics in Medicine 17,
    method 10): each proportion gets its Wilson score interval, and the difference p1 - p2 gets
        lower = (p1 - p2) - sqrt((p1 - l1)^2 + (u2 - p2)^2)
        upper = (p1 - p2) + sqrt((u1 - p1)^2 + (p2 - l2)^2)
    where (l1, u1) and (l2, u2) are the Wilson bounds. Unlike the Wald interval it stays inside [-1, 1] and
    keeps close to its nominal coverage with small groups and rates near 0 or 1 (a holdout of a few dozen
    rows, a conversion rate of a few per cent). Newcombe's example (a), 56/70 - 48/80, gives 0.0524 to 0.3339.
    Plain arithmetic and sqrt: the same SQL on DuckDB and Spark. -#}

{#- z for a two-sided 95 % interval: the 0.975 quantile of the standard normal distribution. -#}
{% macro z_95() -%}
    1.959963984540054
{%- endmacro %}

{#- One Wilson score bound of successes / trials (side -1: lower, +1: upper) as DOUBLE; NULL when trials is 0:
    (p + z²/2n ± z·sqrt(p(1 - p)/n + z²/4n²)) / (1 + z²/n). -#}
{% macro wilson_score_bound(successes, trials, side) -%}
    {%- set n = 'cast(nullif(' ~ trials ~ ', 0) as double)' -%}
    {%- set p = '(cast(' ~ successes ~ ' as double) / ' ~ n ~ ')' -%}
    {%- set z = z_95() -%}
    (
        {{ p }} + {{ z }} * {{ z }} / (2 * {{ n }})
        {{ '-' if side < 0 else '+' }} {{ z }}
        * sqrt({{ p }} * (1 - {{ p }}) / {{ n }} + {{ z }} * {{ z }} / (4 * {{ n }} * {{ n }}))
    ) / (1 + {{ z }} * {{ z }} / {{ n }})
{%- endmacro %}

{#- Newcombe's bound of p1 - p2 (side -1: lower, +1: upper), given the rates and their Wilson bounds as SQL
    expressions. -#}
{% macro newcombe_difference_bound(rate_1, lower_1, upper_1, rate_2, lower_2, upper_2, side) -%}
    {%- if side < 0 -%}
        ({{ rate_1 }} - {{ rate_2 }})
        - sqrt(({{ rate_1 }} - {{ lower_1 }}) * ({{ rate_1 }} - {{ lower_1 }})
            + ({{ upper_2 }} - {{ rate_2 }}) * ({{ upper_2 }} - {{ rate_2 }}))
    {%- else -%}
        ({{ rate_1 }} - {{ rate_2 }})
        + sqrt(({{ upper_1 }} - {{ rate_1 }}) * ({{ upper_1 }} - {{ rate_1 }})
            + ({{ rate_2 }} - {{ lower_2 }}) * ({{ rate_2 }} - {{ lower_2 }}))
    {%- endif -%}
{%- endmacro %}
