{#- Where the lake is: LAKEHOUSE_LAKE is set by `lakehouse build` from settings. -#}
{% macro lake_path(layer, table) -%}
    {{ env_var('LAKEHOUSE_LAKE') }}/{{ layer }}/{{ table }}
{%- endmacro %}

{#- delta_scan of a lake table, for models that read a Delta table that is not a dbt source. -#}
{% macro lake_table(layer, table) -%}
    delta_scan('{{ lake_path(layer, table) }}')
{%- endmacro %}

{% macro delta_table_exists(path) -%}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set found = run_query("select count(*) from glob('" ~ path ~ "/_delta_log/*.json')") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}
