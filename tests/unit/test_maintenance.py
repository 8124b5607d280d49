"""Lake maintenance on real Delta tables and a real landing zone ingested by the real loader, in a temp home."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from ingestion import ledger
from ingestion.loader import feed_lock
from lakehouse import delta, maintenance
from lakehouse.dbt_runner import writer_lock
from lakehouse.settings import Settings, load_settings

AS_OF = "2026-06-30T12:00:00+00:00"
SCHEMA = pa.schema([("id", pa.int64()), ("event_date", pa.string()), ("amount", pa.float64())])


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    settings = load_settings({"LAKEHOUSE_HOME": str(tmp_path / "home"), "LAKEHOUSE_AS_OF": AS_OF})
    settings.paths.ensure()
    return settings


def _append(path: Path, start: int, n: int = 3, day: str = "2026-06-01") -> None:
    ids = list(range(start, start + n))
    data = pa.table({"id": ids, "event_date": [day] * n, "amount": [i * 1.5 for i in ids]}, schema=SCHEMA)
    delta.write(path, data, partition_by=["event_date"])


def _rows(path: Path, version: int | None = None) -> list[dict]:
    return sorted(delta.read_arrow(path, version=version).to_pylist(), key=lambda r: r["id"])


def _parquet_on_disk(path: Path) -> int:
    return sum(1 for _ in path.rglob("*.parquet") if "_delta_log" not in _.parts)


def _many_small_files(settings: Settings, layer: str, table: str, commits: int = 10) -> Path:
    path = settings.paths.table(layer, table)
    for i in range(commits):
        _append(path, i * 10, day="2026-06-01" if i % 2 else "2026-06-02")
    return path


def test_compaction_merges_small_files_keeps_rows_and_leaves_small_tables(home):
    big = _many_small_files(home, "bronze", "orders")
    small = home.paths.table("silver", "few")
    _append(small, 0)
    _append(small, 100)
    rows_before, small_version = _rows(big), delta.version(small)

    report = maintenance.optimize_tables(home, min_small_files=4)

    outcome = {t.name: t for t in report.tables}
    assert outcome["bronze/orders"].status == "compacted"
    assert (outcome["bronze/orders"].files_before, outcome["bronze/orders"].files_after) == (10, 2)  # 2 partitions
    assert len(delta.active_files(big)) == 2
    assert _rows(big) == rows_before
    assert outcome["silver/few"].status == "unchanged" and delta.version(small) == small_version
    assert "bronze/orders" in report.render() and report.problems == []


def test_compaction_dry_run_changes_nothing(home):
    path = _many_small_files(home, "quarantine", "orders")
    version = delta.version(path)
    report = maintenance.optimize_tables(home, min_small_files=4, dry_run=True)
    assert [t.status for t in report.tables] == ["would_compact"]
    assert delta.version(path) == version and len(delta.active_files(path)) == 10


def test_compaction_skips_a_table_whose_ingest_holds_the_feed_lock(home):
    path = _many_small_files(home, "bronze", "orders")
    with feed_lock(home, "orders"):
        report = maintenance.optimize_tables(home, min_small_files=4, lock_wait_seconds=0.2)
    [outcome] = report.tables
    assert outcome.status == "busy" and "feed orders" in outcome.note
    assert len(delta.active_files(path)) == 10
    assert not maintenance.MaintenanceReport([report]).ok


def test_vacuum_deletes_replaced_files_keeps_current_and_pinned_versions(home):
    path = _many_small_files(home, "bronze", "clicks", commits=6)
    pinned = delta.version(path) - 2  # a version the published warehouse read
    pinned_rows = _rows(path, version=pinned)
    manifest = home.paths.warehouse / "publish_manifest.json"
    manifest.write_text(json.dumps({"lake_versions": {"bronze/clicks": pinned}}))
    delta.optimize(path)
    current = _rows(path)
    on_disk = _parquet_on_disk(path)

    # default retention (168 h): the replaced files were removed seconds ago, nothing goes
    assert maintenance.vacuum_tables(settings=home).files_deleted == 0
    dry = maintenance.vacuum_tables(0, home, dry_run=True)
    assert dry.tables[0].status == "would_vacuum" and _parquet_on_disk(path) == on_disk

    report = maintenance.vacuum_tables(0, home)
    [outcome] = report.tables
    # version `pinned` reads 4 of the 6 original files: only the last two of them (and nothing else) may go
    assert outcome.status == "vacuumed" and outcome.files_deleted == 2 and outcome.bytes_freed > 0
    assert _parquet_on_disk(path) == on_disk - 2
    assert _rows(path) == current
    assert _rows(path, version=pinned) == pinned_rows
    assert "below delta-rs's 168h" in report.render()

    manifest.unlink()
    assert maintenance.vacuum_tables(0, home).files_deleted == 4  # unpinned: the rest of the replaced files


def test_vacuum_waits_for_no_build(home):
    _many_small_files(home, "gold", "g", commits=2)
    with writer_lock(home):
        report = maintenance.vacuum_tables(0, home, lock_wait_seconds=0.2)
    assert [t.status for t in report.tables] == ["busy"]


# ---- landing ------------------------------------------------------------------------------------------------

HEADER = "date,cost_type,channel,partner_id,order_id,amount,currency\n"


def _costs(day: str, n: int = 2, cost_type: str = "affiliate_commission") -> str:
    lines = [f"{day},{cost_type},affiliate,aff_{i},PO{10000000 + i},1.{i}0,USD" for i in range(n)]
    return HEADER + "\n".join(lines) + "\n"


def _land(settings: Settings, day: str, content: str | bytes, name: str | None = None, arrived: str | None = None):
    folder = settings.paths.landing / "marketing_costs" / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"costs_{day.replace('-', '')}.csv")
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    stamp = datetime.fromisoformat(arrived or f"{day}T03:00:00+00:00").timestamp()
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def landing(home):
    """A marketing_costs landing zone ingested by the real loader: the ledger decides what may go."""
    from ingestion.run import ingest

    files = {
        "old": _land(home, "2026-05-01", _costs("2026-05-01")),
        "original": _land(home, "2026-05-02", _costs("2026-05-02")),
        "failed": _land(home, "2026-05-03", b"date,amount\n\xff\xfe not utf-8\n"),
        "quarantined": _land(home, "2026-05-04", _costs("2026-05-04", cost_type="bogus")),
        "changed": _land(home, "2026-05-05", _costs("2026-05-05")),
        "recent": _land(home, "2026-06-25", _costs("2026-06-25")),
        "late": _land(home, "2026-05-07", _costs("2026-05-07"), arrived="2026-06-20T03:00:00+00:00"),
    }
    files["resend"] = _land(
        home, "2026-05-02", _costs("2026-05-02"), "costs_20260502-resend.csv", arrived="2026-05-02T09:00:00+00:00"
    )
    truth = home.paths.landing / "_simulator" / "ground_truth.json"
    truth.parent.mkdir(parents=True)
    truth.write_text("{}")
    os.utime(truth, (0, 0))
    [summary] = ingest(["marketing_costs"], settings=home)
    assert summary.failed == 1 and summary.files == 8
    # after ingest: one file's content changes, one file nobody ingested arrives (both old)
    files["changed"].write_text(_costs("2026-05-05", n=3))
    os.utime(files["changed"], (0, 0))
    files["unknown"] = _land(home, "2026-05-06", _costs("2026-05-06"))
    files["truth"] = truth
    return files


def test_landing_cleanup_deletes_only_old_ingested_files(home, landing):
    ledger_rows = delta.row_count(ledger.path(home))
    dry = maintenance.cleanup_landing(30, home, dry_run=True)
    expected = {"old", "original", "resend"}
    rel = {name: str(p.relative_to(home.paths.landing)) for name, p in landing.items()}
    assert sorted(dry.deleted) == sorted(rel[n] for n in expected)
    assert all(p.exists() for p in landing.values()), "a dry run deletes nothing"
    assert dry.kept == {"failed": 1, "quarantined": 1, "changed": 1, "recent": 2, "unknown": 1}

    report = maintenance.cleanup_landing(30, home)
    assert sorted(report.deleted) == sorted(dry.deleted) and report.bytes_freed > 0
    for name, path in landing.items():
        assert path.exists() == (name not in expected), name
    assert not (home.paths.landing / "marketing_costs" / "dt=2026-05-01").exists(), "emptied partition removed"
    assert (home.paths.landing / "marketing_costs" / "dt=2026-05-03").is_dir()
    assert report.dirs_removed == 2
    assert delta.row_count(ledger.path(home)) == ledger_rows, "cleanup never writes the ledger"

    # a longer retention keeps everything; a re-run deletes nothing more
    assert maintenance.cleanup_landing(90, home).deleted == []
    assert maintenance.cleanup_landing(30, home).deleted == []


def test_landing_cleanup_without_a_ledger_deletes_nothing(home):
    path = _land(home, "2026-01-01", _costs("2026-01-01"))
    report = maintenance.cleanup_landing(1, home)
    assert report.deleted == [] and path.exists() and report.kept == {"unknown": 1}


# ---- ledger -------------------------------------------------------------------------------------------------


def test_ledger_compaction_keeps_every_row(home):
    for batch in range(6):
        ledger.record(
            home,
            [
                ledger.FileEntry(
                    file_path=f"orders/dt=2026-06-0{batch + 1}/f{i}.jsonl.gz",
                    feed="orders" if i % 2 else "clicks",
                    sha256=f"{batch}-{i}",
                    size_bytes=100 + i,
                    rows_read=i,
                    accepted=i,
                    batch_id=f"b{batch}",
                    started_at=datetime(2026, 6, batch + 1, tzinfo=UTC),
                )
                for i in range(4)
            ],
        )
    path = ledger.path(home)
    before = _ledger_rows(path)
    files_before = len(delta.active_files(path))

    dry = maintenance.compact_ledger(home, dry_run=True)
    assert dry.tables[0].status == "would_compact" and len(delta.active_files(path)) == files_before

    report = maintenance.compact_ledger(home)
    [outcome] = report.tables
    assert outcome.status == "compacted"
    assert outcome.files_before == files_before == 12 and outcome.files_after == 2  # one per feed partition
    assert _ledger_rows(path) == before
    assert (path / "_delta_log" / "_last_checkpoint").exists()


def _ledger_rows(path: Path) -> list[dict]:
    return sorted(delta.read_arrow(path).to_pylist(), key=lambda r: (r["file_path"], r["sha256"]))


# ---- everything, from the CLI -------------------------------------------------------------------------------


def test_cli_maintain_runs_every_step(home, monkeypatch):
    from lakehouse.cli import cli
    from lakehouse.settings import reset_settings

    path = _many_small_files(home, "bronze", "orders", commits=20)
    rows = _rows(path)
    monkeypatch.setenv("LAKEHOUSE_HOME", str(home.home))
    reset_settings()
    try:
        runner = CliRunner()
        dry = runner.invoke(cli, ["maintain", "--dry-run", "--json", "--retention-hours", "0"])
        assert dry.exit_code == 0, dry.output
        data = json.loads(dry.output)
        assert [s["step"] for s in data["steps"]] == ["optimize", "vacuum", "landing", "ledger"]
        assert len(delta.active_files(path)) == 20

        result = runner.invoke(cli, ["maintain", "--optimize", "--vacuum", "--retention-hours", "0"])
        assert result.exit_code == 0, result.output
        assert "bronze/orders" in result.output and "compacted" in result.output
        assert len(delta.active_files(path)) == 2 and _parquet_on_disk(path) == 2
        assert _rows(path) == rows

        bad = runner.invoke(cli, ["maintain", "--retention-hours", "-1"])
        assert bad.exit_code == 2 and "-1" in bad.output
    finally:
        monkeypatch.undo()
        reset_settings()


def test_report_render_and_json_agree(home):
    _many_small_files(home, "bronze", "orders")
    report = maintenance.maintain(["optimize"], home, dry_run=True)
    as_json = report.to_json()
    assert as_json["ok"] and as_json["steps"][0]["tables"][0]["status"] == "would_compact"
    assert "would_compact" in report.render()
    with pytest.raises(ValueError, match="unknown maintenance step"):
        maintenance.maintain(["defrag"], home)


def test_busy_lock_in_another_thread_is_waited_for(home):
    path = _many_small_files(home, "bronze", "orders")
    release = threading.Event()
    held = threading.Event()

    def hold():
        with feed_lock(home, "orders"):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    threading.Timer(0.3, release.set).start()
    report = maintenance.optimize_tables(home, min_small_files=4, lock_wait_seconds=5)
    thread.join()
    assert report.tables[0].status == "compacted" and len(delta.active_files(path)) == 2
