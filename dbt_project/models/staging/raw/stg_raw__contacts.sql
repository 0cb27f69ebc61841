with

source_contacts as (
    select * from {{ source('raw', 'contacts') }}
),

typed as (
    {#- The view's columns in the source's order, email normalised in place (hence no ST06). #}
    select -- noqa: ST06
        cast(contact_id as string) as contact_id,
        cast(customer_id as string) as customer_id,
        lower(trim(cast(email as string))) as email,
        cast(first_name as string) as first_name,
        cast(is_primary as boolean) as is_primary,
        cast(email_opt_in as boolean) as email_opt_in,
        cast(unsubscribed_at as timestamp) as unsubscribed_at,
        cast(updated_at as timestamp) as updated_at
    from source_contacts
),

final as (
    select
        *,
        coalesce(email_opt_in, false) and unsubscribed_at is null as is_email_consented
    from typed
)

select * from final
