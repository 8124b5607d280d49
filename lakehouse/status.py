"""What is running and how fresh everything is: ``lakehouse status`` and the summary ``lakehouse run`` prints.

Everything here reads state (pid files, the Delta logs, the publish manifest, the published DuckDB file read-only,
Airflow's REST API when it is up); nothing writes, so it is safe beside a running pipeline.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from lakehouse.settings import Settings, get_settings

LAYERS = ("bronze", "silver", "gold", "quarantine")
KPI_WINDOW_DAYS = 28


def _age(ts: datetime | None, now: datetime | None = None) -> str:
    if ts is None:
        return "never"
    seconds = int(((now or datetime.now(UTC)) - ts).total_seconds())
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 172800:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def layers(settings: Settings) -> list[dict[str, Any]]:
    """Per lake layer: tables, rows (from the Delta logs' statistics) and the time of the newest commit."""
    from lakehouse import delta
    from lakehouse.duck import lake_tables

    by_layer: dict[str, list] = {name: [] for name in LAYERS}
    for (layer, _table), path in lake_tables(settings, include_restricted=True).items():
        if layer in by_layer:
            by_layer[layer].append(path)
    out = []
    for layer, paths in by_layer.items():
        rows, newest = 0, None
        for path in paths:
            rows += delta.row_count(path)
            [last] = delta.history(path, 1)
            ts = datetime.fromtimestamp(last["timestamp"] / 1000, UTC)
            newest = ts if newest is None or ts > newest else newest
        out.append({"layer": layer, "tables": len(paths), "rows": rows, "last_commit": newest})
    return out


def publish_info(settings: Settings) -> dict[str, Any] | None:
    """The publish manifest's headline: when, quality status and each gate's result; None before the first."""
    from lakehouse.warehouse import files

    f = files(settings)
    if not f.manifest.exists():
        return None
    manifest = json.loads(f.manifest.read_text())
    quality = manifest.get("quality") or {}
    gates: dict = quality["gates"] if isinstance(quality.get("gates"), dict) else {}
    return {
        "published_at": manifest.get("published_at"),
        "status": quality.get("status"),
        "dbt_tests": quality.get("dbt_tests", {}),
        "gates": {layer: ("pass" if g.get("ok") else f"{g.get('errors')} error(s)") for layer, g in gates.items()},
        "size_bytes": manifest.get("size_bytes"),
        "file": manifest.get("file"),
    }


def marts(settings: Settings) -> dict[str, int]:
    """Rows per table of the published warehouse (read-only)."""
    from lakehouse.duck import raw_connect

    if not settings.paths.warehouse_file.exists():
        return {}
    con = raw_connect(settings.paths.warehouse_file, read_only=True, settings=settings)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'main' "
                "and table_type = 'BASE TABLE' order by 1"
            ).fetchall()
        ]
        return {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()


def headline_kpis(settings: Settings, days: int = KPI_WINDOW_DAYS) -> dict[str, Any]:
    """The executive headline over the last ``days`` days of data: GMV, orders, AOV, ad spend, ROAS (the glossary's
    definitions, applied to the window's totals) and the on-time delivery rate."""
    from lakehouse import glossary
    from lakehouse.duck import raw_connect

    if not settings.paths.warehouse_file.exists():
        return {}
    metrics = glossary.load()
    con = raw_connect(settings.paths.warehouse_file, read_only=True, settings=settings)
    try:
        end = con.execute("select max(date_reporting) from kpi_daily where orders > 0").fetchone()[0]
        if end is None:
            return {}

        def window(column: str) -> str:
            return f"{column} > date '{end}' - interval {int(days)} day and {column} <= date '{end}'"

        row = con.execute(
            f"""
            with totals as (
                select sum(gmv_reporting) as gmv_reporting, sum(orders) as orders,
                       sum(ad_spend_reporting) as ad_spend_reporting
                from kpi_daily where {window("date_reporting")}
            )
            select gmv_reporting, orders, {metrics["aov"].sql}, ad_spend_reporting, {metrics["roas"].sql}
            from totals
            """
        ).fetchone()
        lanes = con.execute(
            f"""
            with totals as (
                select sum(on_time_shipments) as on_time_shipments, sum(delivered_shipments) as delivered_shipments
                from logistics_lane_daily where {window("date_day")}
            )
            select {metrics["on_time_delivery_rate"].sql} from totals
            """
        ).fetchone()
    finally:
        con.close()
    gmv, orders, aov, spend, roas = row
    return {
        "window": f"{days} days to {end}",
        "currency": settings.reporting_currency,
        "gmv": float(gmv or 0),
        "orders": int(orders or 0),
        "aov": float(aov) if aov is not None else None,
        "ad_spend": float(spend or 0),
        "roas": float(roas) if roas is not None else None,
        "on_time_rate": float(lanes[0]) if lanes and lanes[0] is not None else None,
    }


def reports(settings: Settings) -> dict[str, Any]:
    """Delivery log counts by status and the messages in the local mailbox."""
    from lakehouse import delta
    from reports.deliver import log_path

    statuses: Counter = Counter()
    if delta.table_exists(log_path(settings)):
        for row in delta.read_arrow(log_path(settings), columns=["status"]).to_pylist():
            statuses[row["status"]] += 1
    mailbox = len(list(settings.paths.mail.glob("*.eml"))) if settings.paths.mail.is_dir() else 0
    return {"statuses": dict(statuses), "sent": statuses.get("sent", 0), "mailbox": mailbox}


def services(settings: Settings) -> list[dict[str, Any]]:
    """Each service ``lakehouse up`` manages: pid (from its pid file), health and URL."""
    from lakehouse import airflow_services, superset
    from lakehouse.services import running_services
    from reports import smtp_server

    running = running_services(settings)
    airflow_health = airflow_services.health(settings) if "airflow-api-server" in running else {}
    rows = []
    for name in airflow_services.SERVICES:
        component = {"airflow-scheduler": "scheduler", "airflow-dag-processor": "dag_processor"}.get(name)
        ok = bool(airflow_health) and (airflow_health.get(component) == "healthy" if component else True)
        rows.append({"service": name, "pid": running.get(name), "healthy": name in running and ok,
                     "url": airflow_services.url(settings) if name == "airflow-api-server" else ""})  # fmt: skip
    rows.append({"service": superset.SERVICE, "pid": running.get(superset.SERVICE),
                 "healthy": superset.SERVICE in running and superset.healthy(settings),
                 "url": superset.url(settings)})  # fmt: skip
    rows.append({"service": smtp_server.SERVICE, "pid": running.get(smtp_server.SERVICE),
                 "healthy": smtp_server.SERVICE in running and smtp_server.listening(settings.smtp_port),
                 "url": f"smtp://127.0.0.1:{settings.smtp_port}"})  # fmt: skip
    return rows


def dag_runs(settings: Settings) -> list[dict[str, Any]]:
    """The last run of every DAG (empty when Airflow is not up)."""
    from lakehouse import airflow_services

    if not airflow_services.healthy(settings):
        return []
    client = airflow_services.Client(settings)
    out = []
    for dag in client.request("GET", "/dags", params={"limit": 100})["dags"]:
        runs = client.runs(dag["dag_id"], limit=1)
        last = runs[0] if runs else None
        out.append({
            "dag_id": dag["dag_id"],
            "paused": dag.get("is_paused"),
            "state": last.state if last else "no runs",
            "run_type": last.run_type if last else "",
            "run_after": last.run_after if last else "",
            "end_date": last.end_date if last else "",
        })  # fmt: skip
    return out


def collect(settings: Settings | None = None, with_airflow: bool = True) -> dict[str, Any]:
    settings = settings or get_settings()
    return {
        "services": services(settings),
        "dag_runs": dag_runs(settings) if with_airflow else [],
        "layers": layers(settings),
        "publish": publish_info(settings),
        "reports": reports(settings),
    }


def _money(value: float | None, currency: str, decimals: int = 0) -> str:
    return "-" if value is None else f"{value:,.{decimals}f} {currency}"


def render_status(data: dict[str, Any], console) -> None:
    from rich.table import Table

    now = datetime.now(UTC)
    table = Table("service", "pid", "state", "url", title="Services", title_justify="left", box=None)
    for s in data["services"]:
        state = "[green]healthy" if s["healthy"] else ("[yellow]starting/unhealthy" if s["pid"] else "[dim]stopped")
        table.add_row(s["service"], str(s["pid"] or "-"), state, s["url"])
    console.print(table)
    if data["dag_runs"]:
        table = Table("DAG", "paused", "last run", "type", "queued", "ended", title="\nDAG runs", title_justify="left",
                      box=None)  # fmt: skip
        for r in data["dag_runs"]:
            color = {"success": "green", "failed": "red", "running": "cyan"}.get(r["state"], "white")
            table.add_row(r["dag_id"], "yes" if r["paused"] else "no", f"[{color}]{r['state']}", r["run_type"],
                          str(r["run_after"] or "")[:19], str(r["end_date"] or "")[:19])  # fmt: skip
        console.print(table)
    else:
        console.print("\n[dim]DAG runs: Airflow is not up (`lakehouse up`)")
    table = Table("layer", "tables", "rows", "last commit", title="\nLake freshness", title_justify="left", box=None)
    for r in data["layers"]:
        last = r["last_commit"]
        table.add_row(r["layer"], str(r["tables"]), f"{r['rows']:,}",
                      f"{last:%Y-%m-%d %H:%M:%S} UTC ({_age(last, now)})" if last else "never")  # fmt: skip
    console.print(table)
    pub = data["publish"]
    if pub:
        published = datetime.fromisoformat(str(pub["published_at"]).replace("Z", "+00:00"))
        gates = ", ".join(f"{k} {v}" for k, v in pub["gates"].items()) or "not checked"
        console.print(f"\nLast publish: {pub['published_at']} ({_age(published, now)}), quality [bold]{pub['status']}"
                      f"[/bold]; gates: {gates}; dbt tests: {pub['dbt_tests']}")  # fmt: skip
    else:
        console.print("\nLast publish: never (run `lakehouse run`)")
    rep = data["reports"]
    console.print(f"Reports: {rep['sent']} sent (delivery log {rep['statuses'] or 'empty'}); "
                  f"{rep['mailbox']} message(s) in the local mailbox")  # fmt: skip


def render_summary(settings: Settings, result, console) -> None:
    """The summary after a pipeline run: rows per layer, quarantine, quality, headline KPIs, reports, URLs, logins."""
    from rich.table import Table

    from lakehouse.secrets import get_credentials
    from lakehouse.superset import demo_logins
    from lakehouse.superset import url as superset_url

    data: dict[str, Any] = {"layers": layers(settings), "publish": publish_info(settings), "reports": reports(settings)}
    console.rule("[bold]Summary")
    console.print(f"pipeline {'succeeded' if result.ok else 'FAILED'} in {result.seconds / 60:.1f} min "
                  + (f"({result.note})" if result.note else ""))  # fmt: skip
    table = Table("run", "state", "seconds", box=None)
    for r in result.runs:
        table.add_row(f"{r.dag_id} {r.run_id}", r.state, f"{r.seconds:.0f}")
    console.print(table)
    rows = Table("layer", "tables", "rows", box=None, title="Rows per layer", title_justify="left")
    for r in data["layers"]:
        rows.add_row(r["layer"] + (" (rejected records)" if r["layer"] == "quarantine" else ""), str(r["tables"]),
                     f"{r['rows']:,}")  # fmt: skip
    mart_rows = marts(settings)
    rows.add_row("marts (published DuckDB)", str(len(mart_rows)), f"{sum(mart_rows.values()):,}")
    console.print(rows)
    pub = data["publish"]
    if pub:
        gates = ", ".join(f"{k} {v}" for k, v in pub["gates"].items())
        console.print(f"Quality: [bold]{pub['status']}[/bold] (gates: {gates}; dbt tests: {pub['dbt_tests']})")
    kpis = headline_kpis(settings)
    if kpis:
        cur = kpis["currency"]
        roas = "-" if kpis["roas"] is None else f"{kpis['roas']:.2f}"
        console.print(
            f"Headline KPIs ({kpis['window']}): GMV {_money(kpis['gmv'], cur)}, {kpis['orders']:,} orders, "
            f"AOV {_money(kpis['aov'], cur, 2)}, ad spend {_money(kpis['ad_spend'], cur)}, ROAS {roas}"
        )
        if kpis["on_time_rate"] is not None:
            console.print(f"On-time delivery: {kpis['on_time_rate']:.1%}")
    rep = data["reports"]
    console.print(f"Reports delivered: {rep['sent']} (mailbox {settings.paths.mail}: {rep['mailbox']} message(s))")
    creds = get_credentials(settings)
    logins = Table("UI", "url", "user", "password", box=None, title="Open", title_justify="left")
    logins.add_row("Airflow", f"http://127.0.0.1:{settings.airflow_port}", "admin", creds["airflow_admin_password"])
    for name, login in demo_logins(settings).items():
        logins.add_row(f"Superset ({name})", superset_url(settings), login.user, login.password)
    console.print(logins)
    console.print("Query: .venv/bin/lakehouse sql \"select * from kpi_daily order by date_reporting desc limit 7\" "
                  "| .venv/bin/lakehouse shell;  stop everything: make stop")  # fmt: skip
