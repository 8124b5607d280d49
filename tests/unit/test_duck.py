"""DuckDB helper: offline delta extension, lake views, read-only warehouse, restricted tables hidden."""

from __future__ import annotations

import pyarrow as pa
import pytest

from lakehouse import connect, delta
from lakehouse.duck import DuckDBSetupError, raw_connect, session
from lakehouse.settings import load_settings


@pytest.fixture
def home(tmp_path, monkeypatch):
    settings = load_settings({"LAKEHOUSE_HOME": str(tmp_path)})
    settings.paths.ensure()
    delta.write(
        settings.paths.table("bronze", "orders"),
        pa.table({"id": [1, 2, 3], "dt": ["a", "a", "b"]}),
        partition_by=["dt"],
    )
    delta.write(settings.paths.table("bronze", "customers_pii"), pa.table({"email": ["x@y.z"]}))
    con = raw_connect(settings.paths.warehouse_file, settings=settings)
    con.execute("create table fct_orders as select 42 as n")
    con.close()
    return settings


def test_connect_reads_marts_and_lake(home):
    with session(settings=home) as con:
        assert con.sql("select n from fct_orders").fetchall() == [(42,)]
        assert con.sql("select count(*), count(distinct dt) from bronze.orders").fetchall() == [(3, 2)]
        with pytest.raises(Exception, match="customers_pii"):
            con.sql("select * from bronze.customers_pii").fetchall()
        with pytest.raises(Exception, match="read-only"):
            con.execute("create table warehouse.main.x as select 1")


def test_restricted_only_when_asked(home):
    con = connect(settings=home, include_restricted=True)
    try:
        assert con.sql("select email from bronze.customers_pii").fetchall() == [("x@y.z",)]
    finally:
        con.close()


def test_reader_does_not_block_other_reader(home):
    a = connect(settings=home)
    b = connect(settings=home)
    try:
        assert a.sql("select n from fct_orders").fetchone() == b.sql("select n from fct_orders").fetchone()
    finally:
        a.close()
        b.close()


def test_missing_warehouse_is_clear(home, tmp_path):
    with pytest.raises(DuckDBSetupError, match="no warehouse file"):
        connect(settings=home, warehouse=tmp_path / "nope.duckdb")


def test_no_autoinstall(home):
    con = raw_connect(settings=home)
    try:
        assert con.sql("select current_setting('autoinstall_known_extensions')").fetchone()[0] is False
    finally:
        con.close()
