"""The glossary and the KPI marts agree: every metric column of a KPI mart is produced by that metric's glossary
SQL (checked in dbt's compiled SQL), no mart re-spells a formula outside ``{{ metric() }}``, every metric is used,
and docs/metrics.md is what the generator writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lakehouse import glossary
from lakehouse.glossary import KPI_MARTS, METRIC_CALL, METRIC_USE, Metric

# a metric column may be passed through from a CTE: `x.gmv_reporting`, `coalesce(x.units, 0)::bigint`
_PASS_THROUGH = r"^(coalesce\(\s*)?(\w+\.)?{col}(\s*,\s*0(\.0+)?\s*\))?(::\w+(\(\d+(,\s*\d+)?\))?)?$"
_RELATION = re.compile(r"^(from|((left|right|inner|full|cross)\s+)?(outer\s+)?join)\b", re.IGNORECASE)
_ALIAS_LINE = re.compile(r"^\s*(?P<expr>.*\S)\s+as\s+\"?(?P<col>\w+)\"?\s*,?\s*$", re.IGNORECASE)


def _norm(sql: str) -> str:
    return " ".join(sql.lower().split())


def problems(mart: str, raw: str, compiled: str, columns: list[str], metrics: dict[str, Metric]) -> list[str]:
    """Everything that makes a KPI mart disagree with the glossary (empty when it agrees)."""
    found = []
    by_column = {m.column: m for m in metrics.values()}
    uses = METRIC_USE.findall(raw)
    if len(uses) != len(METRIC_CALL.findall(raw)):
        found.append(
            f"{mart}: a {{{{ metric() }}}} is used inside an expression instead of `{{{{ metric() }}}} as <col>`"
        )
    for name, column in uses:
        if name not in metrics:
            found.append(f"{mart}: metric('{name}') is not in the glossary")
        elif metrics[name].column != column:
            found.append(f"{mart}: metric('{name}') is named {column}; the glossary calls it {metrics[name].column}")
    stripped = _norm(METRIC_CALL.sub(" ", raw))
    for m in metrics.values():
        if _norm(m.sql) in stripped:
            found.append(f"{mart}: re-spells the formula of {m.name} ({m.sql}) instead of {{{{ metric('{m.name}') }}}}")
    for line in raw.splitlines():
        match = _ALIAS_LINE.match(line.split("--")[0])
        if not match or match["col"] not in by_column:
            continue
        metric = by_column[match["col"]]
        expr = match["expr"].strip()
        if _RELATION.match(expr):
            continue
        if f"metric('{metric.name}')" in expr.replace('"', "'"):
            continue
        if not re.match(_PASS_THROUGH.format(col=re.escape(metric.column)), expr, re.IGNORECASE):
            found.append(
                f"{mart}: column {metric.column} is computed as `{expr}`, not by {{{{ metric('{metric.name}') }}}}"
            )
    compiled_norm = _norm(compiled)
    for column in columns:
        metric = by_column.get(column)
        if metric is not None and f"({_norm(metric.sql)}) as {column}" not in compiled_norm:
            found.append(f"{mart}: column {column} is not produced by the glossary SQL of {metric.name} ({metric.sql})")
    return found


@pytest.fixture(scope="module")
def compiled_marts(tiny_warehouse: Path, tmp_path_factory) -> dict[str, dict]:
    """raw SQL, compiled SQL and output columns of every KPI mart (``dbt compile`` into a private target)."""
    from lakehouse import warehouse
    from lakehouse.duck import raw_connect

    target = tmp_path_factory.mktemp("dbt_target")
    code = warehouse.dbt(["compile", "--select", *KPI_MARTS, "--target-path", str(target)])
    assert code == 0, "dbt compile of the KPI marts failed"
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    con = raw_connect(tiny_warehouse, read_only=True)
    try:
        out = {}
        for mart in KPI_MARTS:
            node = nodes[f"model.lakehouse.{mart}"]
            columns = [r[0] for r in con.execute(f"select * from main.{mart} limit 0").description]
            out[mart] = {"raw": node["raw_code"], "compiled": node["compiled_code"], "columns": columns}
        return out
    finally:
        con.close()


@pytest.mark.integration
@pytest.mark.parametrize("mart", KPI_MARTS)
def test_kpi_mart_agrees_with_the_glossary(compiled_marts, mart):
    m = compiled_marts[mart]
    assert m["compiled"] and m["columns"]
    assert problems(mart, m["raw"], m["compiled"], m["columns"], glossary.load()) == []


@pytest.mark.integration
def test_every_metric_is_used_by_a_kpi_mart(compiled_marts):
    metrics = glossary.load()
    used = {name for m in compiled_marts.values() for name, _ in METRIC_USE.findall(m["raw"])}
    assert sorted(set(metrics) - used) == [], "glossary metrics no KPI mart implements"
    for name, metric in metrics.items():
        produced = [
            mart
            for mart, m in compiled_marts.items()
            if metric.column in m["columns"] and f"({_norm(metric.sql)}) as {metric.column}" in _norm(m["compiled"])
        ]
        assert produced, f"{name}: no KPI mart has a {metric.column} column computed by its glossary SQL"


@pytest.mark.integration
def test_the_check_catches_a_re_spelled_or_misnamed_metric(compiled_marts):
    """The agreement check can fail: a formula written by hand, or a metric under another metric's column."""
    metrics = glossary.load()
    m = compiled_marts["kpi_daily"]
    gmv = metrics["gmv"]
    by_hand = "coalesce(sum(case when not is_cancelled then item_value_reporting end), 0)"
    raw = m["raw"].replace("{{ metric('gmv') }} as gmv_reporting", f"{by_hand} as gmv_reporting")
    compiled = m["compiled"].replace(f"({gmv.sql}) as gmv_reporting", f"{by_hand} as gmv_reporting")
    assert raw != m["raw"] and compiled != m["compiled"], (
        "kpi_daily no longer has `{{ metric('gmv') }} as gmv_reporting`"
    )
    found = problems("kpi_daily", raw, compiled, m["columns"], metrics)
    assert any("re-spells the formula of gmv" in p for p in found), found
    assert any("column gmv_reporting is not produced" in p for p in found), found

    swapped = m["raw"].replace("{{ metric('gmv') }} as gmv_reporting", "{{ metric('units') }} as gmv_reporting")
    found = problems("kpi_daily", swapped, m["compiled"], m["columns"], metrics)
    assert any("metric('units') is named gmv_reporting" in p for p in found), found

    averaged = m["raw"] + "\nselect\n    avg(conversion_rate) as conversion_rate,\n    1 as x\nfrom y\n"
    found = problems("kpi_daily", averaged, m["compiled"], m["columns"], metrics)
    assert any("conversion_rate is computed as `avg(conversion_rate)`" in p for p in found), found


def test_metrics_doc_is_current():
    assert glossary.DOC_PATH.exists(), "run `lakehouse warehouse-docs` and commit docs/metrics.md"
    assert glossary.DOC_PATH.read_text() == glossary.render_current(), (
        "run `lakehouse warehouse-docs` and commit docs/metrics.md"
    )


def test_metrics_doc_covers_every_metric_and_the_time_zones():
    text = glossary.render_current()
    for name, metric in glossary.load().items():
        assert f"## {name}\n" in text and f"`{metric.column}`" in text and metric.formula in text
    assert "reconcile over whole periods, not day by day" in " ".join(text.split())
