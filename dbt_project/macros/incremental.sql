{#-
  Incremental models rebuild a window of days: from (newest date already built - lookback_days) on.
  The lookback (var `lookback_days`, default 7) covers the accepted lateness of the feeds, so a run
  after a new day gives the same rows as a full rebuild. Models declare the column with
  `incremental_column` and filter their inputs with:

      {% if incremental_window_start() %} where event_date >= {{ incremental_window_start() }} {% endif %}

  Works for the `delta` materialization (silver tables) and for DuckDB `incremental` models with
  `incremental_strategy='window'`. Returns none on a full build (first run or --full-refresh).
-#}
{% macro incremental_window_start(column=none) -%}
    {%- set start = incremental_window_date(column) -%}
    {{ return(none if start is none else "date '" ~ start ~ "'") }}
{%- endmacro %}

{#- The same window as a date (none on a full build), for materializations and the plugin. -#}
{% macro incremental_window_date(column=none) -%}
    {%- if not execute or flags.FULL_REFRESH -%}{{ return(none) }}{%- endif -%}
    {%- set column = column or config.get('incremental_column') -%}
    {%- set materialized = config.get('materialized') -%}
    {%- if column is none -%}{{ return(none) }}{%- endif -%}
    {%- if materialized == 'delta' -%}
        {%- set path = lake_path('silver', this.identifier) -%}
        {%- if not delta_table_exists(path) -%}{{ return(none) }}{%- endif -%}
        {{ return(lookback_start_date("delta_scan('" ~ path ~ "')", column)) }}
    {%- elif materialized == 'incremental' -%}
        {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}
        {%- if existing is none or existing.type != 'table' -%}{{ return(none) }}{%- endif -%}
        {{ return(lookback_start_date(this, column)) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- (newest `column` in `relation`) - lookback_days, or none when the relation is empty. -#}
{% macro lookback_start_date(relation, column) -%}
    {%- set newest = run_query("select max(" ~ column ~ ")::date from " ~ relation).columns[0].values()[0] -%}
    {{ return(none if newest is none else newest - modules.datetime.timedelta(days=var('lookback_days') | int)) }}
{%- endmacro %}

{#- Custom strategy: delete the window, insert the rebuilt rows (one transaction). -#}
{% macro get_incremental_window_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    {%- set start = incremental_window_start() -%}
    {%- if start is not none %}
    delete from {{ target }} where {{ config.get('incremental_column') }} >= {{ start }};
    {%- endif %}
    insert into {{ target }} ({{ columns }}) select {{ columns }} from {{ source }}
{%- endmacro %}
