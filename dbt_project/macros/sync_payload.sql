{#- The few ways the sync models shape a vendor's payload where DuckDB and Spark SQL differ. Each renders the
    same text on both engines (the parity test compares the sync tables row for row). -#}

{#- The engine's name for a text column in a cast. -#}
{% macro text_type() -%}
    {{ return(adapter.dispatch('text_type', 'expansion')()) }}
{%- endmacro %}

{% macro default__text_type() -%}
    varchar
{%- endmacro %}

{% macro spark__text_type() -%}
    string
{%- endmacro %}

{#- An array of text joined by `sep` into one text. -#}
{% macro join_text_list(items, sep) -%}
    {{ return(adapter.dispatch('join_text_list', 'expansion')(items, sep)) }}
{%- endmacro %}

{% macro default__join_text_list(items, sep) -%}
    array_to_string({{ items }}, '{{ sep }}')
{%- endmacro %}

{% macro spark__join_text_list(items, sep) -%}
    array_join({{ items }}, '{{ sep }}')
{%- endmacro %}

{#- An instant (UTC) as ISO 8601 text with a Z, to the second: 2026-11-22T08:00:00Z. -#}
{% macro iso_utc_text(instant) -%}
    {{ return(adapter.dispatch('iso_utc_text', 'expansion')(instant)) }}
{%- endmacro %}

{% macro default__iso_utc_text(instant) -%}
    strftime({{ instant }}, '%Y-%m-%dT%H:%M:%SZ')
{%- endmacro %}

{% macro spark__iso_utc_text(instant) -%}
    date_format({{ instant }}, "yyyy-MM-dd'T'HH:mm:ss'Z'")
{%- endmacro %}

{#- Aggregate: the group's rows as a JSON array of objects with `fields` (a list of (name, expression) pairs) in
    this order, sorted by `order_by` (one expression). -#}
{% macro json_array_agg(fields, order_by) -%}
    {{ return(adapter.dispatch('json_array_agg', 'expansion')(fields, order_by)) }}
{%- endmacro %}

{% macro default__json_array_agg(fields, order_by) -%}
    to_json(list(struct_pack(
        {%- for name, expression in fields %}{{ name }} := {{ expression }}{{ ", " if not loop.last }}{% endfor -%}
    ) order by {{ order_by }}))
{%- endmacro %}

{#- Spark collects without order: each object travels with its sort key, the array is sorted, the key dropped. -#}
{% macro spark__json_array_agg(fields, order_by) -%}
    to_json(transform(array_sort(collect_list(named_struct('sort_key', {{ order_by }}, 'item', named_struct(
        {%- for name, expression in fields %}'{{ name }}', {{ expression }}{{ ", " if not loop.last }}{% endfor -%}
    )))), entry -> entry.item))
{%- endmacro %}
