{#- dbt-spark casts a unit test's fixture value to its column's type; for an array column it expects a Spark
    expression, while the project's fixtures write arrays of text as DuckDB shows them ('[core, guests]'). Here such
    a text becomes an array of its trimmed items ('[]' an empty one); every other value is cast as dbt-spark does. -#}
{% macro spark__safe_cast(field, type) -%}
    {%- set text = field.strip("'") if field is string else none -%}
    {%- if type.lower() == 'array<string>' and text is not none and text.startswith('[') and text.endswith(']') -%}
        {%- set items = text[1:-1].split(',') | map('trim') | reject('equalto', '') | list -%}
        cast(array({% for item in items %}'{{ item }}'{{ ', ' if not loop.last }}{% endfor %}) as array<string>)
    {%- else -%}
        {{ dbt_spark_fixture_cast(field, type) }}
    {%- endif -%}
{%- endmacro %}

{#- dbt-spark's own spark__safe_cast (dbt/include/spark/macros/utils/safe_cast.sql), for everything else. -#}
{% macro dbt_spark_fixture_cast(field, type) -%}
    {%- set unquoted = type.lower().startswith(('struct', 'array', 'map')) and field is string -%}
    cast({{ field.strip('"').strip("'") if unquoted else field }} as {{ type }})
{%- endmacro %}
