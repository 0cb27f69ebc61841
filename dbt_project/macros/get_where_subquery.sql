{#- dbt's `where` config of data tests, plus one word of our own: `where: latest build` tests only the rows the
    latest build of an incremental model wrote (its highest `_load_id`), so a daily refresh tests the days it
    rebuilt rather than the whole history again; a full build writes every row with one `_load_id`. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == 'latest build' -%}
        {%- set where = '_load_id = (select max(_load_id) from ' ~ relation ~ ')' -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
