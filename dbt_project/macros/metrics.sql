{#-
  The one definition of a KPI: `{{ metric('gmv') }}` renders the SQL written for that metric in the
  glossary (models/marts/kpi/_kpi__glossary.yml, meta of the `metric_glossary` model). KPI marts select
  `{{ metric('gmv') }} as gmv_reporting`; they never spell a KPI formula themselves
  (tests/integration/test_metric_glossary.py enforces it).
  Base metrics are aggregates over the glossary's `model` (a fact); derived metrics combine other metrics'
  columns at the grain of the mart row, e.g. aov = gmv_reporting / orders.
-#}
{% macro metric(name) -%}
    {%- if not execute -%}{{ return('null') }}{%- endif -%}
    {%- set node = graph.nodes.get('model.lakehouse.metric_glossary') -%}
    {%- if node is none -%}
        {{ exceptions.raise_compiler_error("the metric glossary model `metric_glossary` is missing") }}
    {%- endif -%}
    {%- set definition = node.config.meta.metrics.get(name) -%}
    {%- if definition is none -%}
        {{ exceptions.raise_compiler_error("metric '" ~ name ~ "' is not defined in models/marts/kpi/_kpi__glossary.yml") }}
    {%- endif -%}
    ({{ definition.sql | trim }})
{%- endmacro %}
