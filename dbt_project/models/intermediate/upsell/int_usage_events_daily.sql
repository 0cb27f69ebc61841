{#- One row per customer, day, metric and feature (the feature only for feature_blocked): the day's readings
    reduced to what the 30-day signals need, so the signals read a few rows per customer-day instead of every
    event, and a daily refresh aggregates only the days that changed. Incremental: a build rebuilds the days
    that loads changed since its last build (audit.changed_partitions, kind day), every day after a first load.
    Each rebuilt day has a marker row (customer_id NULL) so that a day which lost all its events is replaced
    too; readers skip it. Ties on the instant are broken by the larger value (latest) or the smaller
    (earliest), so a rebuilt day and a full build agree. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy=partition_replacing_strategy(),
        unique_key=['day'],
        partition_by=['day'],
        file_format='parquet',
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('stg_audit__changed_partitions') }}

with

usage_events as (
    select * from {{ ref('stg_raw__usage_events') }}
),

rebuilt_days as (
    {{ rebuilt_days(['usage_events'], 'usage_events', 'usage_events.occurred_at', 'day') }}
),

daily_readings as (
    select
        usage_events.customer_id,
        cast(usage_events.occurred_at as date) as day,
        usage_events.metric,
        usage_events.feature,
        count(*) as events,
        sum(usage_events.value) as total_value,
        {{ latest_value('usage_events.value', 'usage_events.occurred_at') }} as last_value,
        max(usage_events.occurred_at) as last_occurred_at,
        {{ earliest_value('usage_events.value', 'usage_events.occurred_at') }} as first_value,
        min(usage_events.occurred_at) as first_occurred_at
    from usage_events
    {% if is_incremental() -%}
    where cast(usage_events.occurred_at as date) in (select rebuilt_days.day from rebuilt_days)
    {%- endif %}
    group by
        usage_events.customer_id,
        cast(usage_events.occurred_at as date),
        usage_events.metric,
        usage_events.feature
),

day_markers as (
    select
        cast(null as string) as customer_id,
        rebuilt_days.day,
        cast(null as string) as metric,
        cast(null as string) as feature,
        cast(0 as bigint) as events,
        cast(null as double) as total_value,
        cast(null as double) as last_value,
        cast(null as timestamp) as last_occurred_at,
        cast(null as double) as first_value,
        cast(null as timestamp) as first_occurred_at
    from rebuilt_days
),

final as (
    select
        daily_readings.*,
        {{ latest_load_id() }} as _load_id
    from daily_readings
    union all
    select
        day_markers.*,
        {{ latest_load_id() }} as _load_id
    from day_markers
)

select * from final
