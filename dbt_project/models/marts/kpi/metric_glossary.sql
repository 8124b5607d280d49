-- One row per metric: the glossary of _kpi__glossary.yml as a table, so analysts can read the definitions
-- next to the numbers (Superset, DuckDB). Generated from the model's meta; edit the YAML, not this file.
{%- set metrics = config.get('meta', {}).get('metrics', {}) %}
{%- for name, m in metrics.items() %}
select
    '{{ name }}' as metric_name,
    '{{ m.label | replace("'", "''") }}' as label,
    '{{ m.kind }}' as kind,
    '{{ m.description | trim | replace("'", "''") }}' as description,
    '{{ m.formula | trim | replace("'", "''") }}' as formula,
    '{{ m.sql | trim | replace("'", "''") }}' as sql_expression,
    '{{ m.get('model', '') }}' as source_model,
    '{{ m.column }}' as mart_column,
    '{{ m.grain | replace("'", "''") }}' as grain,
    '{{ m.get('date', '') | replace("'", "''") }}' as date_basis,
    '{{ m.get('filters', '') | replace("'", "''") }}' as filters,
    '{{ m.currency }}' as currency,
    '{{ m.get('unit', '') }}' as unit
{% if not loop.last %}union all{% endif %}
{%- endfor %}
