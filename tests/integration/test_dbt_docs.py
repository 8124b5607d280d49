"""`dbt docs generate` works offline on the built warehouse: the catalog describes the marts, and the site's
index.html comes from the installed dbt (nothing is downloaded)."""

from __future__ import annotations

import json

import pytest

from lakehouse import warehouse
from lakehouse.dbt_runner import target_path
from lakehouse.settings import get_settings

pytestmark = pytest.mark.integration


def test_dbt_docs_generate_offline(tiny_warehouse):
    settings = get_settings()
    assert warehouse.dbt(["docs", "generate"], settings=settings, wait_seconds=60) == 0
    target = target_path(settings)
    catalog = json.loads((target / "catalog.json").read_text())
    documented = {node["metadata"]["name"] for node in catalog["nodes"].values()}
    assert {"fct_orders", "kpi_daily", "seller_daily", "channel_daily", "logistics_lane_daily"} <= documented
    kpi = next(n for n in catalog["nodes"].values() if n["metadata"]["name"] == "kpi_daily")
    assert "gmv_reporting" in kpi["columns"]
    assert (target / "index.html").stat().st_size > 10_000
