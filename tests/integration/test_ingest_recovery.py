"""Exactly-once under failure: a run killed mid-way and re-run, and concurrent runs, end with every record
stored once and every file in the ledger once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from lakehouse import delta
from tests.conftest import AS_OF

pytestmark = pytest.mark.integration
LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")


def _home(tiny_landing: Path, tmp_path: Path, name: str) -> Path:
    home = tmp_path / name
    shutil.copytree(tiny_landing, home / "landing")
    return home


def _env(home: Path) -> dict:
    return {**os.environ, "LAKEHOUSE_HOME": str(home), "LAKEHOUSE_AS_OF": AS_OF}


def _bronze(home: Path, table: str) -> pl.DataFrame:
    return pl.from_arrow(delta.read_arrow(home / "lake" / "bronze" / table))


def _ledger(home: Path) -> pl.DataFrame:
    return pl.from_arrow(delta.read_arrow(home / "lake" / "_ledger" / "ingest_files"))


def _assert_exactly_once(home: Path, feed: str, table: str, key: list[str], expected_rows: int) -> None:
    bronze = _bronze(home, table)
    assert bronze.select(key).is_duplicated().sum() == 0
    assert bronze.height == expected_rows
    ledger = _ledger(home).filter((pl.col("feed") == feed) & (pl.col("status") != "failed"))
    done = ledger.filter(pl.col("status").is_in(["ingested", "duplicate_file"]))
    assert done["file_path"].is_duplicated().sum() == 0, "a file was recorded twice"
    landing_files = {str(p.relative_to(home / "landing")) for p in (home / "landing" / feed).rglob("*") if p.is_file()}
    assert set(done["file_path"].to_list()) == landing_files


def test_killed_run_rerun_loses_and_duplicates_nothing(tiny_landing, tiny_bronze, tmp_path):
    expected = tiny_bronze["clicks"].accepted
    home = _home(tiny_landing, tmp_path, "killed")
    proc = subprocess.Popen(
        [LAKEHOUSE, "ingest", "--feed", "clicks"], env=_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    log = home / "lake" / "bronze" / "clicks" / "_delta_log"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(log.glob("*.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = _bronze(home, "clicks").height
    assert 0 < partial < expected, "the kill should land mid-run"
    rerun = subprocess.run([LAKEHOUSE, "ingest", "--feed", "clicks"], env=_env(home), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    _assert_exactly_once(home, "clicks", "clicks", ["event_id"], expected)


def test_concurrent_runs_same_and_different_feeds(tiny_landing, tiny_bronze, tmp_path):
    home = _home(tiny_landing, tmp_path, "concurrent")
    runs = [["--feed", "clicks"], ["--feed", "clicks"], ["--feed", "orders"]]
    procs = [
        subprocess.Popen(
            [LAKEHOUSE, "ingest", *args], env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for args in runs
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    _assert_exactly_once(home, "clicks", "clicks", ["event_id"], tiny_bronze["clicks"].accepted)
    _assert_exactly_once(home, "orders", "orders", ["order_id", "version"], tiny_bronze["orders"].accepted)
