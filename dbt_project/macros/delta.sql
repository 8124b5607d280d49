{#-
  materialized='delta': the model becomes a Delta table in lake/silver/<model> (committed through
  delta-rs by the delta_lake plugin, lakehouse/dbt_plugin.py) and a DuckDB view over it.
  Config: partition_by (list), incremental_column (date column; makes the model incremental, see
  incremental_window_start), unique_key (incremental runs upsert on it instead of replacing the window).
-#}
{% materialization delta, adapter='duckdb' %}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set path = lake_path('silver', this.identifier) -%}
  {%- set window_date = incremental_window_date() -%}
  {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% do adapter.store_relation('delta_lake', this, [], path, 'delta', {
      'sql': sql,
      'partition_by': config.get('partition_by'),
      'window_start': none if window_date is none else window_date | string,
      'window_column': config.get('incremental_column'),
      'unique_key': config.get('unique_key'),
      'invocation_id': invocation_id,
  }) %}

  {% if existing is not none and existing.type != 'view' %}
    {{ adapter.drop_relation(existing) }}
  {% endif %}
  {% call statement('main') -%}
    create or replace view {{ target_relation }} as select * from delta_scan('{{ path }}')
  {%- endcall %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
