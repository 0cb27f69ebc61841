{#- dbt-spark's listagg ignores its order_by_clause (it warns and collects in no order), so a text built from it
    would differ from DuckDB's and from run to run. This one keeps the order: each value travels with its sort
    keys, the array is sorted by them (`desc` reverses a key), and the values are joined. The clause is a list of
    plain expressions separated by commas, each optionally followed by asc or desc, as the models write it. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if not order_by_clause -%}
        {{ return(dbt_spark_unordered_listagg(measure, delimiter_text, limit_num)) }}
    {%- endif -%}
    {%- set keys = [] -%}
    {%- if order_by_clause -%}
        {%- for part in modules.re.sub('(?i)^\\s*order\\s+by\\s+', '', order_by_clause).split(',') -%}
            {%- set words = part.strip().split() -%}
            {%- set descending = words | length > 1 and words[-1] | lower == 'desc' -%}
            {%- set expression = (words[:-1] if words | length > 1 and words[-1] | lower in ('asc', 'desc')
                else words) | join(' ') -%}
            {%- do keys.append((expression, descending)) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set fields -%}
        {%- for expression, descending in keys %}'k{{ loop.index }}', {{ expression }}, {% endfor -%}
        'value', {{ measure }}
    {%- endset -%}
    {%- set comparator -%}
        (left_entry, right_entry) -> case
        {%- for expression, descending in keys %}
            {%- set before, after = ('>', '<') if descending else ('<', '>') %}
            when left_entry.k{{ loop.index }} {{ before }} right_entry.k{{ loop.index }} then -1
            when left_entry.k{{ loop.index }} {{ after }} right_entry.k{{ loop.index }} then 1
        {%- endfor %}
            else 0 end
    {%- endset -%}
    {%- set collected -%}
        transform(array_sort(collect_list(named_struct({{ fields }})), {{ comparator }}), entry -> entry.value)
    {%- endset -%}
    array_join({{ 'slice(' ~ collected ~ ', 1, ' ~ limit_num ~ ')' if limit_num else collected }}, {{ delimiter_text }})
{%- endmacro %}

{% macro dbt_spark_unordered_listagg(measure, delimiter_text, limit_num) -%}
    {%- set collected = 'collect_list(' ~ measure ~ ')' -%}
    array_join({{ 'slice(' ~ collected ~ ', 1, ' ~ limit_num ~ ')' if limit_num else collected }}, {{ delimiter_text }})
{%- endmacro %}
