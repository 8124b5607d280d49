{#- Custom schemas are used as written (staging, intermediate, silver, main), not prefixed with the
    target schema, so engineers and Superset see `main.fct_orders`, `silver.sessions`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
