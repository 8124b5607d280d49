"""Ingestion engine on hand-made files: rules, malformed lines, unreadable files, duplicates, drift,
conservation per file, PII separation and idempotent re-runs."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from ingestion import ledger
from ingestion.contracts import Contract, Field
from ingestion.loader import Feed, Loader
from ingestion.readers import (
    UnreadableFileError,
    read_csv,
    read_json_array,
    read_json_lines,
    read_json_lines_batch,
)
from ingestion.validate import hash_id, validate
from lakehouse import delta
from lakehouse.secrets import pii_salt
from lakehouse.settings import load_settings

AS_OF = datetime(2026, 6, 30, 12, tzinfo=UTC)

CONTRACT = Contract(
    feed="toy_orders",
    version=1,
    description="toy orders",
    format="gzip JSON lines",
    fields=(
        Field("order_id", required=True),
        Field("amount", "decimal(18,2)", source="totals.amount", required=True, min=0, max=10_000),
        Field("currency", upper=True, required=True, accepted=("USD", "EUR", "CNY")),
        Field("created_at", "timestamp", required=True, keep_offset=True),
        Field("customer_id", required=True, pii=True),
        Field("email", source="buyer.email", pii=True),
        Field("items", "json"),
    ),
    primary_key=("order_id",),
    event_time="created_at",
    partition_by=("event_date",),
    hash_fields=(("customer_id", "customer_key"),),
)


def order(i, **over):
    rec = {
        "order_id": f"o{i}",
        "totals": {"amount": "12.50" if i % 2 else 7},
        "currency": "usd",
        "created_at": "2026-06-01T10:00:00+08:00",
        "customer_id": f"c{i % 3}",
        "buyer": {"email": f"u{i}@example.com"},
        "items": [{"sku": "s1", "qty": 1}],
    }
    rec.update(over)
    return rec


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    return path


@pytest.fixture(params=["per_file", "batch"])
def env(tmp_path, request):
    """Each loader test runs with the per-file reader and with the whole-batch JSON reader."""
    settings = load_settings({"LAKEHOUSE_HOME": str(tmp_path / "home"), "LAKEHOUSE_AS_OF": AS_OF.isoformat()})
    settings.paths.ensure()
    batch_reader = read_json_lines_batch if request.param == "batch" else None
    feed = Feed(
        "toy_orders", CONTRACT, "toy/dt=*/*.jsonl.gz", read_json_lines, batch_files=2, batch_reader=batch_reader
    )
    return settings, feed


def _loader(env):
    settings, feed = env
    return Loader(feed, settings, log=lambda _: None)


def test_validate_names_each_rule():
    raw = pl.DataFrame(
        {
            "order_id": ["1", "2", "3", "4", None],
            "totals.amount": ["5", "abc", "-1", "5", "5"],
            "currency": ["eur", "EUR", "EUR", "XXX", "EUR"],
            "created_at": ["2026-06-01T00:00:00Z"] * 3 + ["2026-06-01T00:00:00Z", "2026-06-01T00:00:00Z"],
            "customer_id": ["c"] * 5,
            "_file": ["f"] * 5,
            "_line": [1, 2, 3, 4, 5],
            "_raw": ["{}"] * 5,
        }
    )
    result = validate(CONTRACT, raw, AS_OF, salt="s")
    rules = dict(zip(result.rejected["source_line"], result.rejected["rule"], strict=True))
    assert rules == {2: "type:amount", 3: "range:amount", 4: "accepted:currency", 5: "required:order_id"}
    reasons = dict(zip(result.rejected["source_line"], result.rejected["reason"], strict=True))
    assert reasons[2] == "'totals.amount' = 'abc' is not a valid decimal(18,2)"
    assert result.accepted["currency"].to_list() == ["EUR"]
    assert result.accepted["customer_key"].to_list() == [hash_id("c", "s")]


def test_future_timestamp_rejected_and_offset_kept():
    raw = pl.DataFrame(
        {
            "order_id": ["1", "2"],
            "totals.amount": ["1", "1"],
            "currency": ["USD", "USD"],
            "created_at": ["2026-06-01T10:00:00+08:00", "2027-01-01T00:00:00Z"],
            "customer_id": ["c", "c"],
            "_file": ["f", "f"],
            "_line": [1, 2],
            "_raw": ["", ""],
        }
    )
    result = validate(CONTRACT, raw, AS_OF)
    assert result.rejected["rule"].to_list() == ["future:created_at"]
    row = result.accepted.row(0, named=True)
    assert row["created_at"] == datetime(2026, 6, 1, 2, tzinfo=UTC)
    assert row["created_at_offset"] == "+08:00"


def test_readers(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl.gz", [json.dumps(order(1)), '{"order_id": "broken', json.dumps(order(2))])
    result = read_json_lines(path, "a")
    assert result.rows_read == 3
    assert result.records["_line"].to_list() == [1, 3]
    assert result.malformed["source_line"].to_list() == [2]
    assert "malformed JSON" in result.malformed["reason"][0]
    assert "totals.amount" in result.records.columns  # nested objects flattened

    corrupt = tmp_path / "b.jsonl.gz"
    corrupt.write_bytes(gzip.compress(b'{"a": 1}\n')[:-6])
    with pytest.raises(UnreadableFileError, match=r"b\.jsonl\.gz: cannot read"):
        read_json_lines(corrupt, "b")

    csv_path = tmp_path / "c.csv"
    csv_path.write_text("Report: spend\nCampaign ID;Cost\n1;100\n2;200;extra\n3;300\n")
    csv_result = read_csv(csv_path, "c", delimiter=";", skip_lines=1)
    assert csv_result.records["Campaign ID"].to_list() == ["1", "3"]
    assert csv_result.records["_line"].to_list() == [3, 5]
    assert csv_result.malformed["source_line"].to_list() == [4]

    arr = tmp_path / "d.json"
    arr.write_text(json.dumps([{"id": 1, "e": {"x": 2}}, 5]))
    arr_result = read_json_array(arr, "d")
    assert arr_result.rows_read == 2 and arr_result.records["e.x"].to_list() == [2]
    assert arr_result.malformed["reason"].to_list() == ["not a JSON object"]


def test_load_conservation_pii_and_idempotent_rerun(env):
    settings, _ = env
    landing = settings.paths.landing
    write_jsonl(landing / "toy/dt=2026-06-01/h00.jsonl.gz", [json.dumps(order(i)) for i in range(5)])
    write_jsonl(
        landing / "toy/dt=2026-06-01/h01.jsonl.gz",
        [json.dumps(order(4)), json.dumps(order(5, currency="XXX")), "not json", json.dumps(order(6, newfield=1))],
    )
    # a byte-identical copy of the first file under another name: a duplicate file
    (landing / "toy/dt=2026-06-01/h00-copy.jsonl.gz").write_bytes(
        (landing / "toy/dt=2026-06-01/h00.jsonl.gz").read_bytes()
    )
    bad = landing / "toy/dt=2026-06-02/h00.jsonl.gz"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\x1f\x8b garbage")

    summary = _loader(env).run()
    assert summary.failed == 1 and "cannot read" in summary.errors[0]
    bronze = delta.read_arrow(settings.paths.table("bronze", "toy_orders"))
    assert sorted(bronze["order_id"].to_pylist()) == ["o0", "o1", "o2", "o3", "o4", "o6"]
    assert "customer_id" not in bronze.column_names and "email" not in bronze.column_names
    assert bronze.schema.field("_extra") is not None
    extra = [e for e in bronze["_extra"].to_pylist() if e]
    assert extra == ['{"newfield":1}']

    pii = delta.read_arrow(settings.paths.table("bronze", "toy_orders_pii"))
    assert set(pii["email"].to_pylist()) >= {"u0@example.com"}
    salt = pii_salt(settings)
    assert set(pii["customer_key"].to_pylist()) == {hash_id(f"c{i}", salt) for i in range(3)}

    quarantine = delta.read_arrow(settings.paths.table("quarantine", "toy_orders")).to_pylist()
    assert sorted((q["source_line"], q["rule"]) for q in quarantine) == [(2, "accepted:currency"), (3, "malformed")]
    assert all(q["source_file"] == "toy/dt=2026-06-01/h01.jsonl.gz" for q in quarantine)

    rows = {r["file_path"]: r for r in delta.read_arrow(ledger.path(settings)).to_pylist()}
    assert rows["toy/dt=2026-06-01/h01.jsonl.gz"]["duplicates"] == 1  # o4 seen in h00
    assert rows["toy/dt=2026-06-01/h01.jsonl.gz"]["drift"] == "additive: newfield"
    pair = sorted(rows[f"toy/dt=2026-06-01/{n}.jsonl.gz"]["status"] for n in ("h00", "h00-copy"))
    assert pair == ["duplicate_file", "ingested"]  # the first of two identical files is the original
    assert rows["toy/dt=2026-06-02/h00.jsonl.gz"]["status"] == "failed"
    for r in rows.values():
        if r["status"] != "failed":
            assert r["rows_read"] == r["accepted"] + r["quarantined"] + r["duplicates"], r

    versions = {
        name: delta.version(settings.paths.table(layer, name))
        for layer, name in (("bronze", "toy_orders"), ("quarantine", "toy_orders"), ("_ledger", "ingest_files"))
    }
    again = _loader(env).run()
    assert again.accepted == 0 and again.skipped == 3
    for layer, name in (("bronze", "toy_orders"), ("quarantine", "toy_orders")):
        assert delta.version(settings.paths.table(layer, name)) == versions[name]


def test_breaking_drift_quarantines_whole_file(env):
    settings, _ = env
    renamed = [{**{k: v for k, v in order(i).items() if k != "customer_id"}, "cust_ref": "c"} for i in range(3)]
    write_jsonl(settings.paths.landing / "toy/dt=2026-06-03/h00.jsonl.gz", [json.dumps(r) for r in renamed])
    summary = _loader(env).run()
    assert summary.quarantined == 3 and summary.accepted == 0
    q = delta.read_arrow(settings.paths.table("quarantine", "toy_orders")).to_pylist()
    assert {r["rule"] for r in q} == {"drift:customer_id"}
    assert "cust_ref" in q[0]["reason"] and "breaking schema drift" in q[0]["reason"]


def test_replay_after_contract_fix_moves_once(env):
    settings, feed = env
    write_jsonl(
        settings.paths.landing / "toy/dt=2026-06-04/h00.jsonl.gz",
        [json.dumps(order(10, currency="gbp")), json.dumps(order(11, currency="GBP")), json.dumps(order(12))],
    )
    first = _loader(env).run()
    assert first.quarantined == 2 and first.accepted == 1
    from dataclasses import replace

    fixed_currency = replace(CONTRACT.field("currency"), accepted=("USD", "EUR", "CNY", "GBP"))
    fixed = replace(
        CONTRACT, version=2, fields=tuple(fixed_currency if f.name == "currency" else f for f in CONTRACT.fields)
    )
    fixed_feed = replace(feed, contract=fixed)
    moved = Loader(fixed_feed, settings).replay_quarantine(rule="accepted")
    assert moved.accepted == 2 and moved.quarantined == 0
    bronze = delta.read_arrow(settings.paths.table("bronze", "toy_orders"))
    assert sorted(bronze["order_id"].to_pylist()) == ["o10", "o11", "o12"]
    again = Loader(fixed_feed, settings).replay_quarantine(rule="accepted")
    assert again.accepted == 0 and again.rows == 0
    assert delta.read_arrow(settings.paths.table("bronze", "toy_orders")).num_rows == 3
    quarantine = delta.read_arrow(settings.paths.table("quarantine", "toy_orders")).to_pylist()
    assert all(q["replayed"] for q in quarantine)


def test_contract_docs_page_is_current():
    from ingestion.docs import DOC_PATH, render
    from ingestion.feeds import FEEDS

    assert DOC_PATH.read_text() == render(FEEDS), "run `lakehouse ingest-docs` and commit docs/bronze_tables.md"


def test_feed_catalog_matches_contracts():
    from ingestion.catalog import FEED_TABLES
    from ingestion.feeds import FEEDS

    actual = {
        name: (f.contract.table, *((f.contract.restricted_table,) if f.contract.restricted_table else ()))
        for name, f in FEEDS.items()
    }
    assert actual == FEED_TABLES


def test_reprocess_reloads_a_range_without_duplicating_rows(env):
    """A backfill (`reprocess`) loads every file dated in the range again; loads are idempotent on the keys."""
    settings, _ = env
    landing = settings.paths.landing
    write_jsonl(landing / "toy/dt=2026-06-01/h00.jsonl.gz", [json.dumps(order(i)) for i in range(3)])
    write_jsonl(landing / "toy/dt=2026-06-02/h00.jsonl.gz", [json.dumps(order(i)) for i in range(3, 5)])
    first = _loader(env).run()
    assert first.accepted == 5
    with pytest.raises(ValueError, match="bounded range"):
        _loader(env).run(reprocess=True)

    day = datetime(2026, 6, 2).date()
    again = _loader(env).run(since=day, until=day, reprocess=True)
    assert again.files == 1, "only the range's file is taken again"
    bronze = delta.read_arrow(settings.paths.table("bronze", "toy_orders"))
    assert sorted(bronze["order_id"].to_pylist()) == [f"o{i}" for i in range(5)], "no row was added twice"
    assert _loader(env).run(since=day, until=day).files == 0, "without reprocess, ingested files are skipped"
