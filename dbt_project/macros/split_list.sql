{#- A delimited text column as an array of its items: split on `sep`, each item trimmed, empty items
    removed. NULL or '' gives an empty array. -#}
{% macro split_list(column, sep) -%}
    {{ return(adapter.dispatch('split_list', 'expansion')(column, sep)) }}
{%- endmacro %}

{% macro default__split_list(column, sep) -%}
    {{ exceptions.raise_compiler_error(
        "split_list has no implementation for the " ~ target.type ~ " adapter; add "
        ~ target.type ~ "__split_list in macros/split_list.sql."
    ) }}
{%- endmacro %}

{% macro duckdb__split_list(column, sep) -%}
    list_filter(
        list_transform(string_split(coalesce({{ column }}, ''), '{{ sep }}'), lambda item: trim(item)),
        lambda item: item <> ''
    )
{%- endmacro %}

{#- Spark's split() takes a regular expression, so the separator is escaped. -#}
{% macro spark__split_list(column, sep) -%}
    {%- set pattern = modules.re.escape(sep) | replace("\\", "\\\\") -%}
    filter(
        transform(split(coalesce({{ column }}, ''), '{{ pattern }}'), item -> trim(item)),
        item -> item <> ''
    )
{%- endmacro %}
