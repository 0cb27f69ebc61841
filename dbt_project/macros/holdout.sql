{#- The holdouts (control groups) of the expansion programmes. A customer is in the holdout of a programme
    ('cross_sell' or 'upsell') when the hash fraction of '<programme>:<customer_id>' is below the programme's
    share: the first 8 hex digits of its MD5 read as an unsigned 32-bit integer, divided by 2^32 (a number in
    [0, 1)). The same customer stays in or out on every run and every engine, the two programmes split
    independently of each other, and raising the share only adds customers to the holdout (those already in
    stay). orchestration/lib/generator/holdout.py computes the same assignment in Python with hashlib. -#}
{% macro is_held_out(programme, customer_id, share) -%}
    ({{ holdout_hash_fraction(programme, customer_id) }} < {{ share | float }})
{%- endmacro %}

{#- The hash fraction alone, in [0, 1): `programme` is a literal name, `customer_id` a SQL expression. -#}
{% macro holdout_hash_fraction(programme, customer_id) -%}
    {{ return(adapter.dispatch('holdout_hash_fraction', 'expansion')(programme, customer_id)) }}
{%- endmacro %}

{% macro default__holdout_hash_fraction(programme, customer_id) -%}
    {{ exceptions.raise_compiler_error(
        "holdout_hash_fraction has no implementation for the " ~ target.type ~ " adapter; add "
        ~ target.type ~ "__holdout_hash_fraction in macros/holdout.sql."
    ) }}
{%- endmacro %}

{#- DuckDB casts '0x…' text to an integer. -#}
{% macro duckdb__holdout_hash_fraction(programme, customer_id) -%}
    cast(cast('0x' || substr(md5('{{ programme }}:' || {{ customer_id }}), 1, 8) as bigint) as double) / 4294967296.0
{%- endmacro %}

{#- Spark converts the hex digits with conv(). -#}
{% macro spark__holdout_hash_fraction(programme, customer_id) -%}
    cast(conv(substr(md5(concat('{{ programme }}:', {{ customer_id }})), 1, 8), 16, 10) as double) / 4294967296.0
{%- endmacro %}
