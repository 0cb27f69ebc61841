{#- Fails with every row whose is_holdout disagrees with the hash of its customer id (macros/holdout.sql) at
    the share of the dbt var `share_var`, or whose suppressed_reason disagrees with its flags (`capped_reason`
    when capped, else holdout when held out, else NULL). For the marts of the as-of date, whose rows were all
    assigned at today's share. -#}
{% test holdout_follows_the_hash(model, programme, share_var, capped_reason) %}

with

assigned as (
    select
        customer_id,
        is_holdout,
        is_capped,
        suppressed_reason,
        {{ is_held_out(programme, 'customer_id', var(share_var)) }} as is_held_out_by_hash
    from {{ model }}
),

final as (
    select * from assigned
    where
        is_holdout <> is_held_out_by_hash
        or coalesce(suppressed_reason, '') <> case
            when is_capped then '{{ capped_reason }}'
            when is_holdout then 'holdout'
            else ''
        end
)

select * from final

{% endtest %}
