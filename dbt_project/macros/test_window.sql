{#-
  Data tests of incremental models check only the rebuilt window in incremental runs: rows before it were
  tested when they were built, and scanning the whole history on every run would cost more than the
  build itself. `lakehouse build` sets var tests_on_window=true only when it extends an existing warehouse
  without --full-refresh; full builds (and CI) test every row. A test's own `where` config wins. Views over
  big sources (not incremental themselves) opt in with config `test_window_column` (a date expression).
-#}
{% macro duckdb__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') or incremental_test_filter(relation) -%}
    {%- if where -%}
        {%- do return("(select * from " ~ relation ~ " where " ~ where ~ ") dbt_subquery") -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{% macro incremental_test_filter(relation) -%}
    {%- if not execute or flags.FULL_REFRESH or not var('tests_on_window', false) -%}{{ return('') }}{%- endif -%}
    {%- for node in graph.nodes.values()
            if node.resource_type == 'model'
            and (node.alias or node.name) == relation.identifier
            and node.schema == relation.schema -%}
        {%- set column = node.config.get('incremental_column') or node.config.get('test_window_column') -%}
        {%- set start = lookback_start_date(relation, column) if column else none -%}
        {%- if start is not none -%}
            {{ return(column ~ " >= date '" ~ start ~ "'") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}
