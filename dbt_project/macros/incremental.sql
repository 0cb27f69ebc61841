{#- The bookkeeping of the incremental models. Every row of one carries `_load_id`, the highest load id
    (audit.load_history) when it was built; a build rebuilds the partitions that loads after the highest
    `_load_id` in the model changed (audit.changed_partitions, written by the loader). A rebuilt partition
    always has a marker row (its other columns NULL), so a partition that lost every row is replaced too:
    DuckDB's delete+insert and Spark's insert_overwrite replace exactly the partitions the new rows hold. -#}

{% macro latest_load_id() -%}
    (select coalesce(max(load_id), 0) from {{ ref('stg_audit__loads') }})
{%- endmacro %}

{% macro seen_load_id() -%}
    (select coalesce(max(_load_id), -1) from {{ this }})
{%- endmacro %}

{#- The partition values (text) of `kind` that loads of `tables` changed since this model's last build. -#}
{% macro changed_partition_values(tables, kind) -%}
    select value
    from {{ ref('stg_audit__changed_partitions') }}
    where
        table_name in ({{ "'" ~ tables | join("', '") ~ "'" }})
        and kind = '{{ kind }}'
        and load_id > {{ seen_load_id() }}
{%- endmacro %}

{#- True when a load of one of `tables` since this model's last build was a first load: rebuild everything. -#}
{% macro any_table_loaded_whole(tables) -%}
    exists (
        select 1
        from {{ ref('stg_audit__changed_partitions') }}
        where
            table_name in ({{ "'" ~ tables | join("', '") ~ "'" }})
            and kind = 'all'
            and load_id > {{ seen_load_id() }}
    )
{%- endmacro %}

{#- How an incremental model replaces its rebuilt partitions: delete+insert by the partition key on DuckDB;
    insert_overwrite of the partitions on Spark (no Delta here: Parquet tables partitioned by that key, so a
    rebuild rewrites whole partitions, and a partition is a directory of files). -#}
{% macro partition_replacing_strategy() -%}
    {{ return(adapter.dispatch('partition_replacing_strategy', 'expansion')()) }}
{%- endmacro %}

{% macro default__partition_replacing_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__partition_replacing_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{#- The value of the latest reading, ties on the instant broken by the larger value, so that a rebuild of one
    partition and a full build agree row for row. -#}
{% macro latest_value(value, at) -%}
    max_by({{ value }}, {{ ordering_key(at, value) }})
{%- endmacro %}

{% macro earliest_value(value, at) -%}
    min_by({{ value }}, {{ ordering_key(at, value) }})
{%- endmacro %}

{% macro ordering_key(at, value) -%}
    {{ return(adapter.dispatch('ordering_key', 'expansion')(at, value)) }}
{%- endmacro %}

{% macro default__ordering_key(at, value) -%}
    struct_pack(at := {{ at }}, value := {{ value }})
{%- endmacro %}

{% macro spark__ordering_key(at, value) -%}
    named_struct('at', {{ at }}, 'value', {{ value }})
{%- endmacro %}

{#- The days a daily incremental model rebuilds, as a query with one column `day_column`: on an incremental
    build the days that loads of `tables` changed since its last build (every day of `relation` after a first
    load of one of them), on a full build every day of `relation`. -#}
{% macro rebuilt_days(tables, relation, timestamp_column, day_column) -%}
    {%- if is_incremental() -%}
    select cast(changed.value as date) as {{ day_column }}
    from ({{ changed_partition_values(tables, 'day') }}) as changed
    union
    select distinct cast({{ timestamp_column }} as date) as {{ day_column }}
    from {{ relation }}
    where {{ any_table_loaded_whole(tables) }}
    {%- else -%}
    select distinct cast({{ timestamp_column }} as date) as {{ day_column }}
    from {{ relation }}
    {%- endif -%}
{%- endmacro %}
