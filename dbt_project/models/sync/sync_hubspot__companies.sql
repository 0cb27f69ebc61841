{#- One row per account with an open upgrade flag: flagged within the last `upsell_cooldown_days` days up to
    the as-of date, with its latest flag. This is the state HubSpot should hold, not just today's flags, so a
    company whose delivery failed stays here, and is retried, for as long as its flag is open (the ledger
    sends only what changed or failed; an account flagged today is exactly its upgrade_trigger_accounts row).
    Held-out flags (the upsell holdout) and capped flags (the open flag went to the other route) are never
    synced: the latest flag that is neither is the one HubSpot holds. A flag recorded before the history had
    an is_holdout column takes the customer's hash assignment now (macros/holdout.sql). Every property is
    text, as HubSpot's API wants: money with two decimals (no value for a custom deal), the priority with one,
    the flag instant as ISO 8601 UTC. holdout_programme is always NULL (a NULL property is never sent): it
    lets the Great Expectations suite prove that no holdout row is here. -#}
{%- set cooldown_days = var('upsell_cooldown_days') | int -%}
{%- set holdout_share = var('upsell_holdout_share') | float -%}
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
        coalesce(is_holdout, {{ is_held_out('upsell', 'customer_id', holdout_share) }}) as is_held_out_flag
    from upgrade_flag_history
    where
        flagged_on > {{ dbt.dateadd('day', -1 * cooldown_days, as_of_date()) }}
        and flagged_on <= {{ as_of_date() }}
),

routed_flags as (
    select
        *,
        row_number() over (partition by customer_id order by flagged_on desc) as flag_recency
    from open_flags
    where
        not is_held_out_flag
        and not coalesce(is_capped, false)
),

final as (
    {#- The sync table's columns in their published order (hence no ST06). #}
    select -- noqa: ST06
        routed_flags.customer_id as record_key,
        routed_flags.customer_id as expansion_customer_id,
        customers.name,
        customers.email_domain as domain,
        routed_flags.current_plan_id as expansion_current_plan,
        routed_flags.recommended_plan_id as expansion_recommended_plan,
        {{ join_text_list('routed_flags.triggers', ';') }} as expansion_triggers,
        routed_flags.evidence as expansion_evidence,
        cast(
            cast(routed_flags.expected_expansion_mrr as decimal(18, 2)) as {{ text_type() }}
        ) as expansion_expected_mrr,
        cast(
            cast(round(routed_flags.priority_score, 1) as decimal(4, 1)) as {{ text_type() }}
        ) as expansion_priority_score,
        routed_flags.route as expansion_route,
        {{ iso_utc_text('routed_flags.flagged_at') }} as expansion_flagged_at,
        case when routed_flags.is_held_out_flag then 'upsell' end as holdout_programme
    from routed_flags
    inner join customers
        on routed_flags.customer_id = customers.customer_id
    where routed_flags.flag_recency = 1
)

select * from final
