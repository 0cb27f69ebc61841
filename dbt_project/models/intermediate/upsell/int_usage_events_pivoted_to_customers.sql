{#- The usage signals of each customer, from the daily readings (int_usage_events_daily): the window and
    the seat baseline's lookback both start at midnight, so whole days select exactly the readings an event
    scan would. Each day's row gets a small integer signal code, max_by / min_by / max / sum aggregates per
    customer and code reduce them to a few rows per customer, and a pivot gives one row per customer. No
    window functions, ASOF joins or RANGE frames. Ties on the instant keep the larger value (the latest) and
    the smaller (the first), as the daily rows do. -#}
{%- set window_start = dbt.dateadd('day', -1 * (var('upsell_signal_window_days') | int), as_of_ts()) -%}
{%- set baseline_start = dbt.dateadd(
    'day',
    -1 * ((var('upsell_signal_window_days') | int) + (var('upsell_seat_baseline_lookback_days') | int)),
    as_of_ts()
) -%}
{#- Signal codes. -#}
{%- set seats_before_window = 0 -%}
{%- set seats_in_window = 1 -%}
{%- set storage_in_window = 2 -%}
{%- set api_calls_in_window = 3 -%}

with

usage_days as (
    select * from {{ ref('int_usage_events_daily') }}
),

{# NULL code: a row no signal reads (feature_blocked, or storage / API calls before the window). -#}
coded_days as (
    select
        customer_id,
        last_value,
        last_occurred_at,
        first_value,
        first_occurred_at,
        total_value,
        case
            when metric = 'active_seats'
                then case
                    when day >= cast({{ window_start }} as date) then {{ seats_in_window }}
                    else {{ seats_before_window }}
                end
            when day >= cast({{ window_start }} as date)
                then case metric
                    when 'storage_gb' then {{ storage_in_window }}
                    when 'api_calls' then {{ api_calls_in_window }}
                end
        end as signal_code
    from usage_days
    where
        customer_id is not null
        and day >= cast({{ baseline_start }} as date)
        and day <= {{ as_of_date() }}
),

signal_aggregates as (
    select
        customer_id,
        signal_code,
        {{ latest_value('last_value', 'last_occurred_at') }}
        filter (where signal_code <> {{ api_calls_in_window }}) as last_value,
        max(last_occurred_at) as last_occurred_at,
        {{ earliest_value('first_value', 'first_occurred_at') }}
        filter (where signal_code = {{ seats_in_window }}) as first_value,
        sum(total_value) filter (where signal_code = {{ api_calls_in_window }}) as total_value
    from coded_days
    where signal_code is not null
    group by
        customer_id,
        signal_code
),

customer_signals as (
    select
        customer_id,
        max(case when signal_code = {{ seats_in_window }} then last_value end) as latest_active_seats,
        max(case when signal_code = {{ seats_in_window }} then last_occurred_at end) as latest_active_seats_at,
        max(case when signal_code = {{ seats_in_window }} then first_value end) as first_window_active_seats,
        max(case when signal_code = {{ seats_before_window }} then last_value end) as baseline_active_seats,
        max(case when signal_code = {{ seats_before_window }} then last_occurred_at end) as baseline_active_seats_at,
        max(case when signal_code = {{ storage_in_window }} then last_value end) as latest_storage_gb,
        max(case when signal_code = {{ storage_in_window }} then last_occurred_at end) as latest_storage_gb_at,
        max(case when signal_code = {{ api_calls_in_window }} then total_value end) as api_calls_30d,
        max(case when signal_code = {{ api_calls_in_window }} then last_occurred_at end) as latest_api_calls_at
    from signal_aggregates
    group by customer_id
),

seat_growth as (
    select
        *,
        coalesce(baseline_active_seats, first_window_active_seats) as window_start_active_seats
    from customer_signals
),

final as (
    {#- Columns in the table's published order, calculated ones among them (hence no ST06). #}
    select -- noqa: ST06
        customer_id,
        latest_active_seats,
        latest_active_seats_at,
        window_start_active_seats,
        baseline_active_seats_at,
        latest_active_seats - window_start_active_seats as seats_added_30d,
        latest_storage_gb,
        latest_storage_gb_at,
        api_calls_30d,
        latest_api_calls_at
    from seat_growth
)

select * from final
