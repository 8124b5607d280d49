"""Generates ``docs/bronze_tables.md``: every bronze table with its columns, types, keys and contract rules.

``lakehouse ingest-docs`` rewrites it; a test fails when the committed page is out of date.
"""

from __future__ import annotations

from pathlib import Path

from ingestion.loader import Feed, bronze_schema, restricted_schema
from lakehouse.settings import REPO_ROOT

DOC_PATH = REPO_ROOT / "docs" / "bronze_tables.md"

_LINEAGE_DOCS = {
    "event_date": "UTC date of the event time (partition column)",
    "_extra": "additive schema drift: unknown source fields of the record, as JSON",
    "_orphan": "references a record of another feed not seen yet (flagged, not rejected)",
    "_source_file": "landing file (relative to the landing root)",
    "_source_line": "1-based line / row / array position in that file",
    "_run_id": "ingest run that wrote the row",
    "_ingested_at": "commit time",
}


def render(feeds: dict[str, Feed]) -> str:
    out = [
        "# Bronze tables",
        "",
        "Generated from the contracts in `ingestion/feeds.py` by `lakehouse ingest-docs`; do not edit by hand.",
        "Records that break a rule go to `lake/quarantine/<feed>` with the rule name (`<rule>:<column>`) and a",
        "reason; every landing file gets a row in `lake/_ledger/ingest_files`.",
        "",
    ]
    for name, feed in feeds.items():
        c = feed.contract
        out += [
            f"## `bronze.{c.table}` (feed `{name}`, contract v{c.version})",
            "",
            c.description,
            "",
            f"- landing files: `{feed.pattern}` ({c.format})",
            f"- primary key: `{', '.join(c.primary_key)}`"
            + (f"; event time: `{c.event_time}`" if c.event_time else ""),
            f"- partitioned by: `{', '.join(c.partition_by)}`" if c.partition_by else "- not partitioned",
            "",
            "| column | type | source | rules | description |",
            "|---|---|---|---|---|",
        ]
        by_name = {f.name: f for f in c.fields}
        for field in bronze_schema(c):
            f = by_name.get(field.name)
            if f is not None:
                rules = "; ".join(f.rules()) or ""
                out.append(f"| `{f.name}` | {f.type} | `{f.src}` | {rules} | {f.description} |")
            elif field.name.endswith("_offset") and field.name[: -len("_offset")] in by_name:
                out.append(f"| `{field.name}` | string | | | original UTC offset of `{field.name[:-7]}` |")
            elif field.name in {dst for _, dst in c.hash_fields}:
                src = next(s for s, d in c.hash_fields if d == field.name)
                out.append(f"| `{field.name}` | string | `{src}` | | salted SHA-256 of the source customer id |")
            else:
                out.append(f"| `{field.name}` | {field.type} | | | {_LINEAGE_DOCS.get(field.name, '')} |")
        if c.restricted_table:
            cols = ", ".join(f"`{n}`" for n in restricted_schema(c).names)
            out += ["", f"Raw PII goes only to the restricted table `bronze.{c.restricted_table}` ({cols})."]
        out.append("")
    return "\n".join(out)


def write(path: Path = DOC_PATH) -> Path:
    from ingestion.feeds import FEEDS

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(FEEDS))
    return path
