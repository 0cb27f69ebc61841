{#- The bookkeeping of the incremental models. Every row of one carries `_load_id`, the highest load id
    (audit.load_history) when it was built; a build rebuilds the partitions that loads after the highest
    `_load_id` in the model changed (audit.changed_partitions, written by the loader). A rebuilt partition
    always has a marker row (its other columns NULL), so a partition that lost every row is replaced too:
    DuckDB's replace_partitions and Spark's insert_overwrite replace exactly the partitions the new rows hold. -#}

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

{#- How an incremental model replaces its rebuilt partitions: `replace_partitions` on DuckDB (below);
    insert_overwrite of the partitions on Spark (no Delta here: Parquet tables partitioned by that key, so a
    rebuild rewrites whole partitions, and a partition is a directory of files). -#}
{% macro partition_replacing_strategy() -%}
    {{ return(adapter.dispatch('partition_replacing_strategy', 'expansion')()) }}
{%- endmacro %}

{% macro default__partition_replacing_strategy() -%}
    {{ return('replace_partitions') }}
{%- endmacro %}

{#- The DuckDB strategy `replace_partitions`: delete the target's rows whose partition key (`unique_key`) the new
    rows hold, then insert the new rows. dbt-duckdb's delete+insert deletes with `using <new rows> where
    <key> = <key>`, a join of every target row with every new row of its partition: with a partition key (a
    month of a million customers' rows) that join has 10^12 pairs, and a daily refresh at scale 100 never ended
    in 6 minutes. Here the new rows' distinct keys are taken first, and the delete is a semi-join on them. -#}
{% macro get_incremental_replace_partitions_sql(arg_dict) -%}
    {%- set keys = arg_dict['unique_key'] if arg_dict['unique_key'] is not string else [arg_dict['unique_key']] -%}
    {%- if not keys -%}
        {{ exceptions.raise_compiler_error(
            'The incremental strategy replace_partitions needs unique_key: the partition key to replace by.') }}
    {%- endif -%}
    {%- set key_list = keys | join(', ') -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where ({{ key_list }}) in (select distinct {{ key_list }} from {{ arg_dict['temp_relation'] }});
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
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
