"""Ingestion of the simulator's tiny world: every planted defect handled as its contract says, no clean
record quarantined, conservation per file, and a second run changes nothing."""

from __future__ import annotations

import json
from collections import defaultdict

import polars as pl
import pytest

from ingestion.feeds import FEEDS
from lakehouse import delta
from lakehouse.settings import get_settings

pytestmark = pytest.mark.integration

# planted defect kind -> quarantine rule kinds that catch it
EXPECTED_RULE = {
    "malformed_json": ("malformed",),
    "missing_field": ("required",),
    "wrong_type": ("type",),
    "bad_amount": ("range", "type"),
    "unknown_currency": ("accepted",),
    "future_timestamp": ("future",),
}


def _defects(landing):
    out = []
    for path in sorted((landing / "_simulator" / "defects").glob("*.json")):
        out += json.loads(path.read_text())
    return out


def _table(layer, name):
    return pl.from_arrow(delta.read_arrow(get_settings().paths.table(layer, name)))


@pytest.fixture(scope="module")
def world(tiny_landing, tiny_bronze):
    truth = json.loads((tiny_landing / "_simulator" / "ground_truth.json").read_text())
    quarantine = pl.concat(
        [
            _table("quarantine", t)
            for t in {f.contract.table for f in FEEDS.values()}
            if delta.table_exists(get_settings().paths.table("quarantine", t))
        ],
        how="vertical_relaxed",
    )
    ledger = _table("_ledger", "ingest_files")
    return {"truth": truth, "defects": _defects(tiny_landing), "quarantine": quarantine, "ledger": ledger}


def _breaking_files(world):
    return set(world["ledger"].filter(pl.col("drift").str.starts_with("breaking"))["file_path"].to_list())


def test_record_defects_quarantined_under_the_right_rule(world):
    quarantined = {(r["source_file"], r["source_line"]): r["rule"] for r in world["quarantine"].iter_rows(named=True)}
    breaking = _breaking_files(world)
    problems = []
    checked = 0
    for d in world["defects"]:
        if d["kind"] not in EXPECTED_RULE:
            continue
        checked += 1
        rule = quarantined.get((d["file"], d["line"]))
        allowed = EXPECTED_RULE[d["kind"]] + (("drift",) if d["file"] in breaking else ())
        if rule is None or rule.split(":")[0] not in allowed:
            problems.append(f"{d['kind']} {d['file']}:{d['line']} ({d.get('field') or d.get('column')}) -> {rule}")
    assert checked > 300
    assert not problems, f"{len(problems)} defects not caught as planned:\n" + "\n".join(problems[:30])


def test_no_clean_record_quarantined(world):
    planted = {(d["file"], d["line"]) for d in world["defects"] if d["kind"] in EXPECTED_RULE}
    breaking = _breaking_files(world)
    clean = world["quarantine"].filter(
        ~pl.struct("source_file", "source_line").is_in([{"source_file": f, "source_line": ln} for f, ln in planted])
        & ~pl.col("source_file").is_in(list(breaking))
    )
    assert clean.height == 0, clean.select("source_file", "source_line", "rule", "reason").head(20)


def test_duplicates_counted_and_stored_once(world):
    per_file = defaultdict(int)
    for d in world["defects"]:
        if d["kind"] == "duplicate_record":
            per_file[d["file"]] += 1
    ledger = {r["file_path"]: r for r in world["ledger"].iter_rows(named=True)}
    # records of a file rejected whole for breaking drift are all quarantined, copies included
    breaking = _breaking_files(world)
    short = [f for f, n in per_file.items() if ledger[f]["duplicates"] < n and f not in breaking]
    assert not short, short[:10]
    for d in world["defects"]:
        if d["kind"] == "duplicate_file":
            assert ledger[d["file"]]["status"] == "duplicate_file", d
            assert ledger[d["file"]]["duplicates"] == ledger[d["file"]]["rows_read"]
    for feed in FEEDS.values():
        table = _table("bronze", feed.contract.table)
        keys = list(feed.contract.primary_key)
        assert table.select(keys).is_duplicated().sum() == 0, f"duplicate keys in bronze.{feed.contract.table}"


def test_conservation_per_file(world):
    done = world["ledger"].filter(pl.col("status") != "failed")
    broken = done.filter(pl.col("rows_read") != pl.col("accepted") + pl.col("quarantined") + pl.col("duplicates"))
    assert broken.height == 0, broken.head()
    assert world["ledger"].filter(pl.col("status") == "failed").height == 0


def test_late_files_land_in_their_event_partition(world):
    late = [d for d in world["defects"] if d["kind"] == "late_file" and d["feed"] in ("orders", "clicks")]
    assert late
    for d in late:
        table = _table("bronze", d["feed"]).filter(pl.col("_source_file") == d["file"])
        assert table.height > 0 or d["feed"] == "orders"
        assert set(table["event_date"].cast(pl.String).to_list()) <= {d["event_date"]}, d


def test_schema_drift(world):
    additive, breaking = world["truth"]["schema_drifts"]
    tiktok = world["ledger"].filter(pl.col("feed") == "ad_spend_tiktok")
    dated = tiktok.with_columns(pl.col("file_path").str.extract(r"dt=([\d-]+)", 1).alias("dt"))
    assert set(dated.filter(pl.col("dt") < additive["from_date"])["drift"].to_list()) == {None}
    after = dated.filter(
        (pl.col("dt") >= additive["from_date"]) & (pl.col("rows_read") > 0) & (pl.col("status") == "ingested")
    )
    assert after.height > 0 and set(after["drift"].to_list()) == {"additive: conversion"}
    ad_spend = _table("bronze", "ad_spend").filter(pl.col("platform") == "tiktok")
    assert ad_spend["_extra"].str.contains('"conversion"').sum() > 0
    drift_rows = world["quarantine"].filter(pl.col("rule").str.starts_with("drift:"))
    assert drift_rows.height > 0
    assert drift_rows["source_file"].str.contains(breaking["carrier"]).all()
    assert drift_rows["reason"].str.contains("event_timestamp").all()


def test_orphan_tracking_flagged_not_rejected(world):
    breaking = _breaking_files(world)  # their records are quarantined for drift instead
    orphans = {
        (d["file"], d["line"]) for d in world["defects"] if d["kind"] == "orphan_tracking" and d["file"] not in breaking
    }
    tracking = _table("bronze", "tracking_events").filter(pl.col("_orphan"))
    flagged = set(zip(tracking["_source_file"].to_list(), tracking["_source_line"].to_list(), strict=True))
    assert orphans and orphans <= flagged


def test_pii_only_in_restricted_table(world):
    orders = _table("bronze", "orders")
    assert not {"customer_id", "buyer_name", "buyer_email", "buyer_phone", "buyer_address"} & set(orders.columns)
    clicks = _table("bronze", "clicks")
    assert "user_id" not in clicks.columns
    pii = _table("bronze", "orders_pii")
    assert {"customer_id", "buyer_email", "customer_key"} <= set(pii.columns)
    # the same hash for the same customer in both feeds: purchases join to their orders through it
    purchases = clicks.filter(pl.col("event_name") == "purchase").select("order_id", "customer_key").drop_nulls()
    joined = purchases.join(orders.select("order_id", pl.col("customer_key").alias("k")).unique(), on="order_id")
    assert joined.height > 100 and (joined["customer_key"] == joined["k"]).all()


def test_second_run_changes_nothing(world, tiny_landing):
    from ingestion.run import ingest

    settings = get_settings()
    tables = [("bronze", f.contract.table) for f in FEEDS.values()] + [("_ledger", "ingest_files")]
    before = {t: delta.version(settings.paths.table(*t)) for t in tables}
    summaries = ingest()
    assert sum(s.accepted + s.quarantined for s in summaries) == 0
    assert {t: delta.version(settings.paths.table(*t)) for t in tables} == before
