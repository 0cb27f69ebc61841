{#- One row per account with an open upgrade flag: flagged within the last `upsell_cooldown_days` days up to
    the as-of date, with its latest flag. This is the state HubSpot should hold, not just today's flags, so a
    company whose delivery failed stays here, and is retried, for as long as its flag is open (the ledger
    sends only what changed or failed; an account flagged today is exactly its upgrade_trigger_accounts row).
    Every property is text, as HubSpot's API wants: money with two decimals (no value for a custom deal),
    the priority with one, the flag instant as ISO 8601 UTC. -#}
{%- set cooldown_days = var('upsell_cooldown_days') | int -%}
with

upgrade_flag_history as (
    select * from {{ ref('int_upgrade_flag_history') }}
),

customers as (
    select * from {{ ref('stg_raw__customers') }}
),

open_flags as (
    select
        *,
        row_number() over (partition by customer_id order by flagged_on desc) as flag_recency
    from upgrade_flag_history
    where
        flagged_on > {{ dbt.dateadd('day', -1 * cooldown_days, as_of_date()) }}
        and flagged_on <= {{ as_of_date() }}
),

final as (
    {#- The sync table's columns in their published order (hence no ST06). #}
    select -- noqa: ST06
        open_flags.customer_id as record_key,
        open_flags.customer_id as expansion_customer_id,
        customers.name,
        customers.email_domain as domain,
        open_flags.current_plan_id as expansion_current_plan,
        open_flags.recommended_plan_id as expansion_recommended_plan,
        array_to_string(open_flags.triggers, ';') as expansion_triggers,
        open_flags.evidence as expansion_evidence,
        cast(cast(open_flags.expected_expansion_mrr as decimal(18, 2)) as varchar) as expansion_expected_mrr,
        cast(cast(round(open_flags.priority_score, 1) as decimal(4, 1)) as varchar) as expansion_priority_score,
        open_flags.route as expansion_route,
        strftime(open_flags.flagged_at, '%Y-%m-%dT%H:%M:%SZ') as expansion_flagged_at
    from open_flags
    inner join customers
        on open_flags.customer_id = customers.customer_id
    where open_flags.flag_recency = 1
)

select * from final
