{#- Fails with every HubSpot company that must not be there, with the problem named:
    - held_out: an open flag of the customer is recorded as held out, or, for a flag recorded before the history
      had the column, the hash of the customer id (macros/holdout.sql) at today's `upsell_holdout_share` says so;
    - other_route: another uncapped open flag of the account went to the other route (an account is never handed
      to sales and to customer success for the same open flag; flags from before the route cap, is_capped NULL,
      are not judged). -#}
{{ config(meta={'dagster': {'ref': {'name': 'sync_hubspot__companies'}}}) }}
{%- set cooldown_days = var('upsell_cooldown_days') | int -%}

with

hubspot_companies as (
    select * from {{ ref('sync_hubspot__companies') }}
),

flag_history as (
    select * from {{ ref('int_upgrade_flag_history') }}
),

open_flags as (
    select
        customer_id,
        flagged_on,
        route,
        is_capped,
        coalesce(
            is_holdout,
            {{ is_held_out('upsell', 'customer_id', var('upsell_holdout_share')) }}
        ) as is_held_out_flag
    from flag_history
    where
        flagged_on > {{ dbt.dateadd('day', -1 * cooldown_days, as_of_date()) }}
        and flagged_on <= {{ as_of_date() }}
),

problems as (
    select
        hubspot_companies.record_key,
        hubspot_companies.expansion_route,
        open_flags.flagged_on as open_flag_on,
        open_flags.route as open_flag_route,
        case when open_flags.is_held_out_flag then 'held_out' else 'other_route' end as problem
    from hubspot_companies
    inner join open_flags
        on hubspot_companies.record_key = open_flags.customer_id
    where
        open_flags.is_held_out_flag
        or (not open_flags.is_capped and hubspot_companies.expansion_route <> open_flags.route)
),

final as (
    select * from problems
)

select * from final
