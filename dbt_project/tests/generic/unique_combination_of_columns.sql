{#- Fails with one row per combination of the given columns that occurs more than once: the test that a
    model's grain is a composite key. NULLs count as values (two rows with the same NULLs are repeats). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

{%- set column_list = combination_of_columns | join(', ') -%}

with

model_rows as (
    select {{ column_list }} from {{ model }}
),

repeated_combinations as (
    select
        {{ column_list }},
        count(*) as row_count
    from model_rows
    group by {{ column_list }}
    having count(*) > 1
),

final as (
    select * from repeated_combinations
)

select * from final

{% endtest %}
