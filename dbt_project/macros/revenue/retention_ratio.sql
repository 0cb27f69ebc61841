{#- A 12-month retention ratio (nrr_12m, grr_12m) as DOUBLE: the retained MRR ÷ the cohort's MRR 12 months
    earlier, NULL where there is no cohort (no month 12 back, or nobody paid then). -#}
{% macro retention_ratio(retained_mrr, cohort_mrr) -%}
    case
        when {{ cohort_mrr }} > 0 then cast({{ retained_mrr }} as double) / cast({{ cohort_mrr }} as double)
    end
{%- endmacro %}
