"""The metric glossary: read ``_kpi__glossary.yml`` (the one definition of every KPI) and generate
``docs/metrics.md`` from it (``lakehouse warehouse-docs``; a test fails when the page is out of date).

KPI marts select ``{{ metric('gmv') }} as gmv_reporting``; :func:`implementations` finds those uses in the
marts' SQL so the page can say where each metric lives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from lakehouse.settings import REPO_ROOT

DBT_PROJECT = REPO_ROOT / "dbt_project"
GLOSSARY_PATH = DBT_PROJECT / "models" / "marts" / "kpi" / "_kpi__glossary.yml"
KPI_MODELS_DIR = DBT_PROJECT / "models" / "marts" / "kpi"
DOC_PATH = REPO_ROOT / "docs" / "metrics.md"
KPI_MARTS = ("kpi_daily", "seller_daily", "channel_daily", "logistics_lane_daily", "attribution_channel_daily")
# {{ metric('gmv') }} as gmv_reporting
METRIC_USE = re.compile(r"""\{\{-?\s*metric\(\s*['"](\w+)['"]\s*\)\s*-?\}\}\s+as\s+"?(\w+)"?""", re.IGNORECASE)
METRIC_CALL = re.compile(r"""\{\{-?\s*metric\(\s*['"](\w+)['"]\s*\)\s*-?\}\}""")


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    kind: str  # base | derived
    column: str
    description: str
    formula: str
    sql: str
    grain: str
    date: str
    filters: str
    currency: str  # reporting | home | none
    unit: str
    model: str = ""  # the fact a base metric aggregates


def load(path: Path = GLOSSARY_PATH) -> dict[str, Metric]:
    """Every metric of the glossary, in file order."""
    data = yaml.safe_load(path.read_text())
    model = next((m for m in data.get("models", []) if m.get("name") == "metric_glossary"), None)
    if model is None:
        raise ValueError(f"{path}: no `metric_glossary` model")
    metrics = model.get("config", {}).get("meta", {}).get("metrics") or {}
    out = {}
    for name, m in metrics.items():
        out[name] = Metric(
            name=name,
            label=str(m["label"]),
            kind=str(m["kind"]),
            column=str(m["column"]),
            description=" ".join(str(m.get("description", "")).split()),
            formula=" ".join(str(m["formula"]).split()),
            sql=" ".join(str(m["sql"]).split()),
            grain=str(m.get("grain", "")),
            date=str(m.get("date", "")),
            filters=str(m.get("filters", "")),
            currency=str(m.get("currency", "none")),
            unit=str(m.get("unit", "")),
            model=str(m.get("model", "") or ""),
        )
    return out


def implementations(models_dir: Path = KPI_MODELS_DIR) -> dict[str, list[tuple[str, str]]]:
    """``metric name -> [(mart, column), ...]`` from the ``{{ metric() }} as <column>`` uses in the KPI marts."""
    found: dict[str, list[tuple[str, str]]] = {}
    for sql_file in sorted(models_dir.glob("*.sql")):
        if sql_file.stem == "metric_glossary":
            continue
        for name, column in METRIC_USE.findall(sql_file.read_text()):
            found.setdefault(name, []).append((sql_file.stem, column))
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return "`" + _cell(text) + "`" if text else ""


DATES_SECTION = """\
## Dates and time zones: why daily marts differ and periods agree

Timestamps are stored in UTC. Each daily mart dates an event in the time zone of its audience:

- `kpi_daily` uses the **reporting time zone** (`LAKEHOUSE_REPORTING_TIMEZONE`, default UTC): its
  `date_reporting` is the reporting-zone date of the event.
- `seller_daily` uses **each seller's own time zone**, so a seller's day matches its own calendar (most
  sellers are in China, UTC+8).
- The other marts state their date basis for each metric below (the "date basis" row).

An order placed at 20:00 UTC on 1 March is a 1 March order in `kpi_daily` (UTC) and a 2 March order in
`seller_daily` for a seller in Asia/Shanghai. The marts therefore **reconcile over whole periods, not day by
day**: summed over the whole history they agree exactly; summed over a month they differ only by the orders
placed within a time-zone offset of the month's boundaries; a single day can differ a lot. Compare daily
figures only within one mart.

Money: `*_reporting` columns are in the reporting currency (`LAKEHOUSE_REPORTING_CURRENCY`, default USD),
`*_home` columns in the seller's home currency, both converted at the rate of the event's date (the last
published rate on days without one; refunds at the refund date's rate). Ratios and counts have no currency.
"""


def render(metrics: dict[str, Metric], used: dict[str, list[tuple[str, str]]]) -> str:
    out = [
        "# Metrics",
        "",
        "Generated from `dbt_project/models/marts/kpi/_kpi__glossary.yml` by `lakehouse warehouse-docs`; do not edit",
        "by hand. Every KPI is defined once, in that file: the KPI marts select `{{ metric('<name>') }} as <column>`",
        "and never spell a formula themselves (`tests/integration/test_metric_glossary.py` enforces it). The same",
        "definitions are queryable in the warehouse as the `metric_glossary` table.",
        "",
        "Base metrics aggregate a fact (`fct_orders`, `fct_sessions`...) at the grain of the mart row; derived",
        "metrics combine other metrics' columns of the same row (so a ratio is always computed from its own",
        "numerator and denominator, never averaged).",
        "",
        "| metric | label | column | kind | currency | implemented in |",
        "|---|---|---|---|---|---|",
    ]
    for m in metrics.values():
        where = ", ".join(f"`{mart}`" for mart, _ in used.get(m.name, [])) or "not used yet"
        out.append(f"| [`{m.name}`](#{m.name}) | {_cell(m.label)} | `{m.column}` | {m.kind} | {m.currency} | {where} |")
    out += ["", DATES_SECTION.rstrip(), ""]
    for m in metrics.values():
        where = ", ".join(f"`{mart}.{column}`" for mart, column in used.get(m.name, [])) or "not used by a mart yet"
        out += [
            f"## {m.name}",
            "",
            f"**{m.label}.** {m.description}",
            "",
            "| | |",
            "|---|---|",
            f"| formula | {_cell(m.formula)} |",
            f"| SQL | {_code(m.sql)} |",
            f"| kind | {m.kind}"
            + (f" (aggregates `{m.model}`)" if m.model else " (from other metrics' columns)")
            + " |",
            f"| grain | {_cell(m.grain)} |",
            f"| date basis | {_cell(m.date)} |",
            f"| filters | {_cell(m.filters)} |",
            f"| currency | {m.currency} |",
            f"| unit | {_cell(m.unit)} |",
            f"| column | `{m.column}` |",
            f"| implemented in | {where} |",
            "",
        ]
    return "\n".join(out).rstrip() + "\n"


def render_current() -> str:
    """The page as the generator would write it now."""
    return render(load(), implementations())
