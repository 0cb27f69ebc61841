{#- One row per account flagged for an upgrade now: exactly the HubSpot company a sync upserts, keyed by the
    `expansion_customer_id` property. Every property is text, as HubSpot's API wants: money with two
    decimals, the priority with one, the flag instant as ISO 8601 UTC. What was delivered before is not
    filtered here: the delivery ledger (sync.delivery_ledger) compares payload hashes and sends only what
    changed or failed. -#}
with

upgrade_trigger_accounts as (
    select * from {{ ref('upgrade_trigger_accounts') }}
),

customers as (
    select * from {{ ref('stg_raw__customers') }}
),

final as (
    select
        upgrade_trigger_accounts.customer_id as record_key,
        upgrade_trigger_accounts.customer_id as expansion_customer_id,
        customers.name,
        customers.email_domain as domain,
        upgrade_trigger_accounts.current_plan_id as expansion_current_plan,
        upgrade_trigger_accounts.recommended_plan_id as expansion_recommended_plan,
        array_to_string(upgrade_trigger_accounts.triggers, ';') as expansion_triggers,
        upgrade_trigger_accounts.evidence as expansion_evidence,
        cast(cast(upgrade_trigger_accounts.expected_expansion_mrr as decimal(18, 2)) as varchar)
            as expansion_expected_mrr,
        cast(cast(round(upgrade_trigger_accounts.priority_score, 1) as decimal(4, 1)) as varchar)
            as expansion_priority_score,
        upgrade_trigger_accounts.route as expansion_route,
        strftime(upgrade_trigger_accounts.flagged_at, '%Y-%m-%dT%H:%M:%SZ') as expansion_flagged_at
    from upgrade_trigger_accounts
    inner join customers
        on upgrade_trigger_accounts.customer_id = customers.customer_id
)

select * from final
