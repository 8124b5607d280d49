"""The ``lakehouse`` command: one CLI for every stage (``lakehouse --help``).

Stage packages contribute their commands (``simulator.cli.simulate`` ...); this module wires them into one
group so Airflow, Make and people all run the same code.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lakehouse import __version__
from lakehouse.settings import SettingsError, get_settings

console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

# (module, attribute) of click commands contributed by stage packages
STAGE_COMMANDS = (
    ("simulator.cli", "simulate"),
    ("ingestion.cli", "ingest"),
    ("ingestion.cli", "ingest_docs"),
    ("reports.cli", "reports"),
    ("reports.cli", "smtp"),
    ("reports.cli", "insights"),
)


class LakehouseGroup(click.Group):
    """Turns settings errors into one readable line and exit code 2 instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            err_console.print(f"[red]configuration error:[/red] {exc}")
            sys.exit(2)


@click.group(cls=LakehouseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lakehouse")
def cli() -> None:
    """Local-first lakehouse for cross-border marketplaces: simulate, ingest, build, check, serve.

    State lives under LAKEHOUSE_HOME (default: var/ in the repository); see `lakehouse paths`.
    """


@cli.command()
@click.option(
    "--skip",
    multiple=True,
    type=click.Choice(["spark", "ports", "system_packages", "superset_env"]),
    help="Skip a check (repeatable).",
)
def doctor(skip: tuple[str, ...]) -> None:
    """Check that this machine can run the platform: Python, Java, environments, DuckDB, Spark, ports, disk."""
    from lakehouse.doctor import run_checks

    settings = get_settings()
    failed = 0
    for check in run_checks(settings, skip=skip):
        status = "[green]PASS[/green]" if check.ok else "[red]FAIL[/red]"
        console.print(f"{status} {check.name:<22} {check.detail} [dim]({check.seconds:.1f}s)[/dim]")
        if not check.ok:
            failed += 1
            console.print(f"     [yellow]fix:[/yellow] {check.hint}")
    if failed:
        console.print(f"[red]{failed} check(s) failed[/red]")
        sys.exit(1)
    console.print("[green]all checks passed[/green]")


def _show(mapping: dict[str, str], headers: tuple[str, str], as_json: bool) -> None:
    """Print a name -> value mapping as JSON or as a two-column table."""
    if as_json:
        click.echo(json.dumps(mapping, indent=2))
        return
    table = Table(*headers, box=None)
    for key, value in mapping.items():
        table.add_row(key, value)
    console.print(table)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def paths(as_json: bool) -> None:
    """Show where everything lives (all under LAKEHOUSE_HOME)."""
    _show({k: str(v) for k, v in get_settings().paths.all().items()}, ("what", "path"), as_json)


@cli.command("settings")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_settings(as_json: bool) -> None:
    """Show every setting with the environment variable that overrides it."""
    _show(get_settings().describe(), ("variable", "value"), as_json)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (for scripts).")
def credentials(as_json: bool) -> None:
    """Show the logins generated for this LAKEHOUSE_HOME (stored with mode 600), Superset demo users included."""
    from lakehouse.secrets import get_credentials
    from lakehouse.superset import demo_logins
    from lakehouse.superset import url as superset_url

    settings = get_settings()
    creds = get_credentials(settings)
    logins: dict[str, dict[str, str]] = {
        "airflow": {
            "url": f"http://127.0.0.1:{settings.airflow_port}",
            "user": "admin",
            "password": creds["airflow_admin_password"],
        },
    }
    for name, login in demo_logins(settings).items():
        key = "superset" if name == "admin" else f"superset-{name}"
        logins[key] = {"url": superset_url(settings), "user": login.user, "password": login.password}
        if login.note:
            logins[key]["note"] = login.note
    if as_json:
        click.echo(json.dumps(logins, indent=2))
        return
    table = Table("service", "url", "user", "password", "note", box=None)
    for name, row in logins.items():
        table.add_row(name, row["url"], row["user"], row["password"], row.get("note", ""))
    console.print(table)
    console.print(f"[dim]stored in {settings.paths.credentials_file}[/dim]")


@cli.group()
def superset() -> None:
    """Superset dashboards as code (dashboards/bundle), served on 127.0.0.1 from .venv-superset.

    \b
    Examples:
      lakehouse superset up        # bootstrap once, import the bundle, start on 127.0.0.1:8088
      lakehouse superset import    # re-import dashboards/bundle (roles, demo users, row-level security)
      lakehouse superset export    # write dashboards edited in the UI back into dashboards/bundle
      lakehouse superset down
    Logins: `lakehouse credentials`.
    """


def _superset_call(fn, *args, **kwargs):
    from lakehouse.superset import SupersetError

    try:
        return fn(*args, echo=lambda line: console.print(line, markup=False), **kwargs)
    except SupersetError as exc:
        _fail(str(exc))


@superset.command("up")
def superset_up() -> None:
    """Bootstrap (first time), import the bundle and start Superset in the background; waits for health."""
    from lakehouse import superset as ss

    address = _superset_call(ss.up)
    console.print(f"[green]Superset is up:[/green] {address}  (logins: `lakehouse credentials`)")


@superset.command("down")
def superset_down() -> None:
    """Stop the Superset server started by `up`."""
    from lakehouse import superset as ss

    console.print("stopped superset" if ss.down() else "superset was not running")


@superset.command("import")
def superset_import() -> None:
    """Import dashboards/bundle into Superset (idempotent), with roles, demo users and row-level security."""
    from lakehouse import superset as ss

    _superset_call(ss.import_bundle)


@superset.command("export")
def superset_export() -> None:
    """Export Superset's dashboards, charts and datasets back into dashboards/bundle (review with git diff)."""
    from lakehouse import superset as ss

    changed = _superset_call(ss.export_bundle)
    for rel in changed:
        console.print(f"  {rel}", markup=False)


@cli.command()
@click.option("--no-superset", is_flag=True, help="Start only SMTP and Airflow.")
def up(no_superset: bool) -> None:
    """Start the local SMTP server, Airflow (api-server, scheduler, dag-processor) and Superset on 127.0.0.1.

    Waits until each is healthy; idempotent (running services are kept). Stop with `lakehouse down`.
    """
    from lakehouse import stack
    from lakehouse.airflow_services import AirflowError
    from lakehouse.superset import SupersetError

    try:
        urls = stack.up(echo=console.print, superset=not no_superset)
    except (AirflowError, SupersetError, RuntimeError) as exc:
        _fail(str(exc))
    console.print("up: " + ", ".join(f"{name} {u}" for name, u in urls.items()) + " (logins: `lakehouse credentials`)")


@cli.command()
def down() -> None:
    """Stop every service lakehouse started (by pid file); nothing of ours is left listening."""
    from lakehouse import stack

    stopped = stack.down()
    for name, pid in stopped.items():
        console.print(f"stopped {name} (pid {pid or '?'})")
    if not stopped:
        console.print("nothing running")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Services, the last run of every DAG, lake freshness per layer, the last publish and its quality status."""
    from lakehouse import status as status_module

    data = status_module.collect()
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    status_module.render_status(data, console)


def _run_pipeline(fn, **kwargs):
    from lakehouse.airflow_services import AirflowError
    from lakehouse.pipeline import PipelineError

    settings = get_settings()
    try:
        result = fn(settings=settings, echo=console.print, **kwargs)
    except (PipelineError, AirflowError) as exc:
        console.print(f"[red bold]pipeline failed[/red bold]\n{exc}", highlight=False)
        console.print("[dim]the admin address got an alert mail; `lakehouse status` shows the runs; services stay up "
                      "(`make stop`)")  # fmt: skip
        sys.exit(1)
    return result


@cli.command("run")
@click.option("--via", type=click.Choice(["airflow", "cli"]), default="airflow", show_default=True,
              help="airflow: trigger the DAGs through Airflow's REST API (starts the services); cli: the same steps "
                   "in this process, no services.")  # fmt: skip
@click.option("--no-summary", is_flag=True, help="Skip the summary at the end.")
def run_command(via: str, no_summary: bool) -> None:
    """Run the pipeline once: ingest -> quality gates -> warehouse -> Spark jobs -> publish -> seller reports.

    Through Airflow (default) it triggers `ingest_landing` over the REST API and follows the Asset chain
    (build_warehouse, then seller_reports), printing every task as it changes state, then brings up Superset
    and prints a summary (rows per layer, quarantine, quality, headline KPIs, reports delivered, URLs, logins).
    """
    from lakehouse import pipeline, stack
    from lakehouse import status as status_module

    settings = get_settings()
    if via == "airflow":
        stack.up(settings, echo=console.print, superset=False)
        result = _run_pipeline(pipeline.run_through_airflow)
        stack.up(settings, echo=console.print)  # Superset, now that a warehouse is published
    else:
        result = _run_pipeline(pipeline.run_through_cli)
    if not no_summary:
        status_module.render_summary(settings, result, console)


@cli.command()
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day (landing dt=) to redo.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last day (inclusive).")
def backfill(since, until) -> None:
    """Re-run a range of days through Airflow: reload that range's landing files (idempotent on keys), rebuild the
    warehouse from --since on, publish, send what is overdue. Starts the services if needed."""
    from lakehouse import pipeline, stack

    if until < since:
        _fail(f"--until {until:%Y-%m-%d} is before --since {since:%Y-%m-%d}", code=2)
    stack.up(get_settings(), echo=console.print, superset=False)
    result = _run_pipeline(pipeline.backfill, since=since.date(), until=until.date())
    console.print(f"backfill {since:%Y-%m-%d}..{until:%Y-%m-%d}: " + ", ".join(f"{r.dag_id} {r.state}" for r in
                  result.runs) + f" in {result.seconds:.0f}s")  # fmt: skip


@cli.command()
@click.option(
    "--scale",
    type=click.Choice(["demo", "bench"]),
    default="demo",
    show_default=True,
    envvar="BENCH_SCALE",
    help="Data scale (BENCH_SCALE).",
)
@click.option("--only", multiple=True, help="Run only benchmarks whose name contains this (repeatable).")
@click.option("--repeats", default=3, show_default=True, help="Runs per timing (median reported).")
def bench(scale: str, only: tuple[str, ...], repeats: int) -> None:
    """Run benchmarks/ and write LAKEHOUSE_HOME/bench/results.{json,md}."""
    from benchmarks import harness

    report = harness.run(
        scale=scale, only=list(only), repeats=repeats, echo=lambda line: console.print(line, markup=False)
    )
    console.print(harness.to_markdown(report), markup=False)
    console.print(f"[dim]written to {get_settings().paths.bench}/results.md[/dim]")
    if report["errors"]:
        sys.exit(1)


def _fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(escape(message), style="red")
    sys.exit(code)


@cli.command()
@click.option(
    "--layer",
    type=click.Choice(["silver", "gold", "marts", "all"]),
    default="all",
    show_default=True,
    help="silver: staging + silver Delta tables; gold: the Spark jobs (lake/gold); marts: dims, facts, KPI marts; "
    "all: the three in order.",
)
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from scratch.")
@click.option("--select", "select", multiple=True, help="Only these nodes (dbt selection syntax, repeatable).")
@click.option("--wait", type=float, default=0.0, show_default=True, help="Seconds to wait for another dbt writer.")
@click.option(
    "--threads", type=int, default=2, show_default=True, help="dbt threads (models and tests run in parallel)."
)
@click.option("--quiet", is_flag=True, help="Only the per-model result table, not dbt's log.")
@click.option("--master", help="Spark master of the gold jobs (default: LAKEHOUSE_SPARK_MASTER, local[*]).")
def build(
    layer: str, full_refresh: bool, select: tuple[str, ...], wait: float, threads: int, quiet: bool, master: str | None
) -> None:
    """Build the warehouse with dbt into the build copy (readers keep the published file until `publish`).

    \b
    Examples:
      lakehouse build                      # silver, gold (Spark jobs), then marts (with their tests)
      lakehouse build --layer marts --select +kpi_daily
      lakehouse build --layer gold --select attribution
      lakehouse build --full-refresh       # rebuild incremental models from scratch
    """
    from lakehouse.warehouse import DbtError, GoldJobError, WriterBusyError
    from lakehouse.warehouse import build as build_warehouse

    try:
        result = build_warehouse(
            layer,
            full_refresh=full_refresh,
            select=select,
            wait_seconds=wait,
            threads=threads,
            echo=not quiet,
            master=master,
        )
    except (DbtError, GoldJobError, WriterBusyError, ValueError) as exc:
        _fail(str(exc))
    console.print(
        f"[green]built[/green] {', '.join(r.layer for r in result.runs)} in {result.seconds:.1f}s into "
        f"{result.database}; `lakehouse publish` makes it the warehouse readers see"
    )


def _position_weights(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, float, float]:
    try:
        weights = [float(p) for p in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected three numbers such as 0.4,0.2,0.4") from None
    if len(weights) != 3 or min(weights) < 0 or abs(sum(weights) - 1) > 1e-9:
        raise click.BadParameter(f"{value!r}: expected three non-negative numbers summing to 1 (first,middle,last)")
    return weights[0], weights[1], weights[2]


@cli.command()
@click.option(
    "--paths",
    "paths_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Aggregated path table (path,total_conversions,total_conversion_value,total_null) instead of the pipeline.",
)
@click.option("--sep", default=",", show_default=True, help="CSV delimiter of --paths (e.g. ';').")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder of --paths.")
@click.option(
    "--order",
    type=click.IntRange(1, 3),
    default=3,
    show_default=True,
    help="Highest Markov order: markov_1 .. markov_K are computed.",
)
@click.option("--direct-channel", default="direct", show_default=True, help="Channel last_non_direct skips.")
@click.option(
    "--position-weights",
    default="0.4,0.2,0.4",
    show_default=True,
    callback=_position_weights,
    help="First, middle, last shares of position_based.",
)
@click.option(
    "--lookback-days",
    type=click.IntRange(1, 366),
    help="Pipeline: days of touches credited to a conversion (default: LAKEHOUSE_ATTRIBUTION_LOOKBACK_DAYS, 30).",
)
@click.option(
    "--half-life-days", type=click.FloatRange(0, min_open=True), help="Pipeline: time_decay half-life (default 7)."
)
@click.option("--master", help="Pipeline: Spark master (default: LAKEHOUSE_SPARK_MASTER, local[*]).")
def attribution(
    paths_file: Path | None,
    sep: str,
    out: Path | None,
    order: int,
    direct_channel: str,
    position_weights: tuple[float, float, float],
    lookback_days: int | None,
    half_life_days: float | None,
    master: str | None,
) -> None:
    """Marketing attribution: first/last touch, last non-direct, linear, position-based, time decay and exact
    Markov chains (orders 1..K) with removal effects. See docs/attribution.md.

    Without --paths, runs the Spark job on the silver touchpoints and writes lake/gold (as `lakehouse build
    --layer gold` does). With --paths, attributes a marketing tool's path table and writes attribution.csv,
    removal_effects.csv and transitions.csv into --out (time decay needs touch times and is skipped).

    \b
    Examples:
      lakehouse attribution                                   # Spark job, 30-day lookback, Markov order 3
      lakehouse attribution --lookback-days 14 --master spark://127.0.0.1:7077
      lakehouse attribution --paths paths.csv --out attribution/
      lakehouse attribution --paths export.csv --sep ';' --order 2 --direct-channel Direct \\
          --position-weights 0.3,0.4,0.3 --out attribution/
    """
    if paths_file is None:
        paths_only = {"--out": out is not None, "--sep": sep != ",", "--direct-channel": direct_channel != "direct"}
        for name, given in paths_only.items():
            if given:
                raise click.UsageError(f"{name} only applies with --paths")
        try:
            from spark_jobs.attribution.job import run as run_job
        except ImportError as exc:
            _fail(f"the attribution Spark job is not available: {exc}")
        summary = run_job(
            get_settings(),
            echo=True,
            master=master,
            lookback_days=lookback_days,  # None: the job's default, LAKEHOUSE_ATTRIBUTION_LOOKBACK_DAYS (30)
            order=order,
            position_weights=position_weights,
            half_life_days=7.0 if half_life_days is None else half_life_days,
        )
        click.echo(json.dumps(summary, indent=2, default=str))
        return

    pipeline_only = {"--lookback-days": lookback_days, "--half-life-days": half_life_days, "--master": master}
    for name, option in pipeline_only.items():
        if option is not None:
            raise click.UsageError(f"{name} applies to the pipeline job, not to --paths")
    if out is None:
        raise click.UsageError("--paths needs --out DIR")
    from spark_jobs.attribution.paths import PathTableError, run_path_table, summary_frame

    try:
        run = run_path_table(
            paths_file, out, sep=sep, order=order, direct_channel=direct_channel, position_weights=position_weights
        )
    except PathTableError as exc:
        _fail(str(exc))
    summary = summary_frame(run)
    table = Table("channel", *summary.columns, box=None, title="conversions by channel and model")
    for channel, row in summary.iterrows():
        table.add_row(escape(str(channel)), *(f"{v:,.2f}" for v in row))
    table.add_row("[bold]total[/bold]", *(f"{v:,.2f}" for v in summary.sum()))
    console.print(table)
    console.print(
        f"{run.rows:,} paths, {run.conversions:,.2f} conversions, "
        f"{run.revenue:,.2f} revenue, {run.nulls:,.2f} non-converting journeys; {run.seconds:.2f}s"
    )
    for path in run.files:
        console.print(f"wrote {path}")


@cli.command()
@click.option("--horizon", type=int, default=30, show_default=True, help="Days to forecast.")
@click.option(
    "--windows", type=int, default=3, show_default=True, help="Rolling-origin backtest windows (of horizon days)."
)
@click.option(
    "--models",
    "models",
    multiple=True,
    help="A model menu (default | fast | full) and/or CLASS=model,model overrides (smooth, erratic, intermittent, "
    "lumpy, all); models: naive, seasonal_naive, window_average, ets, theta, arima, croston, sba, tsb, adida.",
)
@click.option("--batch-size", type=int, help="Series per Spark applyInPandas group (default 250).")
@click.option("--service-level", type=float, help="Inventory service level for safety stock (default 0.95).")
@click.option("--master", help="Spark master (default: LAKEHOUSE_SPARK_MASTER, local[*]).")
@click.option("--json", "as_json", is_flag=True, help="Print the job summary as JSON.")
def forecast(
    horizon: int,
    windows: int,
    models: tuple[str, ...],
    batch_size: int | None,
    service_level: float | None,
    master: str | None,
    as_json: bool,
) -> None:
    """Forecast daily demand per SKU x market, backtest and pick a model per series, write inventory alerts.

    Reads silver daily_sales, order_lines, inventory_snapshots, shipments; writes lake/gold forecasts,
    forecast_backtest, forecast_models, forecast_aggregates, inventory_plan, inventory_alerts (Delta).
    `lakehouse build` runs it too (gold layer, default options).

    \b
    Examples:
      lakehouse forecast                                  # 30 days, 3 x 30-day backtest windows
      lakehouse forecast --horizon 14 --windows 2 --models fast
      lakehouse forecast --models smooth=seasonal_naive,ets,arima --master spark://127.0.0.1:7077
    """
    from spark_jobs.forecast.config import parse_models
    from spark_jobs.forecast.job import ForecastInputError
    from spark_jobs.forecast.job import run as run_forecast

    menu, menus = parse_models(models)
    try:
        summary = run_forecast(
            get_settings(),
            echo=not as_json,
            master=master,
            horizon=horizon,
            windows=windows,
            menu=menu,
            menus=menus or None,
            batch_size=batch_size,
            service_level=service_level,
        )
    except (ForecastInputError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
        return
    rows = {k: str(v) for k, v in summary.items() if k not in ("tables", "rows")}
    rows.update(
        {table: f"version {v}, {summary['rows'][table.split('/')[1]]} rows" for table, v in summary["tables"].items()}
    )
    _show(rows, ("forecast", "value"), as_json=False)


@cli.command()
@click.option("--rollback", is_flag=True, help="Put the previously published file back (again: roll forward).")
@click.option("--wait", type=float, default=0.0, show_default=True, help="Seconds to wait for a running dbt writer.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole publish manifest as JSON.")
def publish(rollback: bool, wait: float, as_json: bool) -> None:
    """Atomically swap the build copy in as warehouse/warehouse.duckdb and record a publish manifest.

    Refuses a build whose last dbt run failed. The replaced file is kept as warehouse/previous/ for --rollback.
    """
    from lakehouse.warehouse import PublishError, WriterBusyError, files
    from lakehouse.warehouse import publish as publish_warehouse

    try:
        manifest = publish_warehouse(rollback=rollback, wait_seconds=wait)
    except (PublishError, WriterBusyError) as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(manifest, indent=2, default=str))
        return
    f = files()
    quality = manifest.get("quality", {})
    rows = {
        "published": str(f.published),
        "published_at": str(manifest.get("published_at")),
        "sha256": str(manifest.get("sha256")),
        "size": f"{int(manifest.get('size_bytes') or 0) / 1024**2:,.1f} MiB",
        "dbt invocations": ", ".join(str(i) for i in manifest.get("dbt", {}).get("invocations", [])),
        "quality": f"{quality.get('status')} (dbt tests {quality.get('dbt_tests')})",
        "lake tables read": str(len(manifest.get("lake_versions", {}))),
        "manifest": str(f.manifest),
    }
    if rollback:
        rows = {"rolled back to": str(manifest.get("published_at")), **rows}
    _show(rows, ("publish", "value"), as_json=False)


@cli.command()
@click.option("--optimize", "steps", flag_value="optimize", multiple=True, help="Compact small Delta files.")
@click.option("--vacuum", "steps", flag_value="vacuum", multiple=True, help="Delete files removed past the retention.")
@click.option("--landing", "steps", flag_value="landing", multiple=True, help="Delete old, ingested landing files.")
@click.option("--ledger", "steps", flag_value="ledger", multiple=True, help="Compact and checkpoint the ingest ledger.")
@click.option("--dry-run", is_flag=True, help="List what would be compacted or deleted; change nothing.")
@click.option(
    "--retention-hours",
    type=click.IntRange(min=0),
    help="Vacuum retention (default: LAKEHOUSE_DELTA_RETENTION_HOURS, 168).",
)
@click.option(
    "--landing-retention-days",
    type=click.IntRange(min=1),
    help="Landing retention (default: LAKEHOUSE_LANDING_RETENTION_DAYS, 30).",
)
@click.option(
    "--wait", type=float, default=60.0, show_default=True, help="Seconds to wait for an ingest or build lock."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def maintain(
    steps: tuple[str, ...],
    dry_run: bool,
    retention_hours: int | None,
    landing_retention_days: int | None,
    wait: float,
    as_json: bool,
) -> None:
    """Lake maintenance: compact small Delta files, vacuum removed ones, delete landing files the ingest ledger
    records as ingested, compact the ledger. Without a step flag, all four run. Exit 1 if a table was skipped
    (its writer stayed busy, or a commit conflicted) or failed.

    \b
    Examples:
      lakehouse maintain --dry-run
      lakehouse maintain --vacuum --retention-hours 24
      lakehouse maintain --landing --landing-retention-days 90 --json
    """
    from lakehouse.delta import DeltaIOError
    from lakehouse.maintenance import STEPS
    from lakehouse.maintenance import maintain as run_maintenance

    def progress(line: str) -> None:
        if not as_json:
            console.print(f"[dim]{escape(line)}[/dim]")

    try:
        report = run_maintenance(
            steps or STEPS,
            dry_run=dry_run,
            retention_hours=retention_hours,
            landing_retention_days=landing_retention_days,
            lock_wait_seconds=wait,
            log=progress,
        )
    except (DeltaIOError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, default=str))
    else:
        console.print(report.render(), markup=False)
    if not report.ok:
        sys.exit(1)


@cli.command()
@click.option(
    "--layer",
    type=click.Choice(["bronze", "silver", "gold", "marts"]),
    required=True,
    help="bronze: the feeds after ingest; silver: after `build --layer silver`; gold: the Spark jobs' outputs "
    "after `build --layer gold`; marts: the build copy.",
)
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Check days from this date (default: the run's).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(layer: str, since, as_json: bool) -> None:
    """Quality gate (Great Expectations): exit 1 on any error-severity failure, with a summary of table,
    expectation, observed value and failing rows. Silver, gold and marts outcomes are kept with the build copy:
    `lakehouse publish` refuses a build whose checks found an error, so readers keep the last good warehouse.

    \b
    Examples:
      lakehouse check --layer bronze
      lakehouse check --layer marts --since 2026-06-01
    """
    from expectations import QualityError
    from lakehouse.warehouse import quality_gate

    settings = get_settings()
    try:
        report = quality_gate(layer, since=since.date() if since else None, settings=settings)
    except QualityError as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, default=str))
    else:
        click.echo(report.render())
    if not report.ok:
        sys.exit(1)


def _reader_connection(include_restricted: bool):
    from lakehouse.duck import connect

    settings = get_settings()
    if not settings.paths.warehouse_file.exists():
        err_console.print(
            "[yellow]no published warehouse yet (lakehouse build && lakehouse publish): lake tables only[/yellow]"
        )
    if include_restricted:
        err_console.print("[yellow]restricted PII tables attached (bronze.*_pii): handle with care[/yellow]")
    return connect(include_restricted=include_restricted, settings=settings)


@cli.command()
@click.argument("query")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json", "parquet"]), default="table", show_default=True
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@click.option("--include-restricted", is_flag=True, help="Also attach the restricted PII tables (bronze.*_pii).")
def sql(query: str, fmt: str, output: Path | None, include_restricted: bool) -> None:
    """Run SQL on the published warehouse (read-only) and the lake tables; print or save the result.

    \b
    Examples:
      lakehouse sql "select date_reporting, sum(gmv_reporting) from kpi_daily group by 1 order by 1"
      lakehouse sql "select * from fct_orders limit 10" --format csv
      lakehouse sql "select * from bronze.orders" --format parquet --output orders.parquet
    """
    from lakehouse.shell import QueryError, emit, run_statements

    if fmt == "parquet" and output is None:
        raise click.UsageError("--format parquet needs --output FILE")
    con = _reader_connection(include_restricted)
    try:
        relation = run_statements(con, query)
        if relation is None:
            err_console.print("OK", style="dim")
            return
        _, note = emit(relation, fmt, console, output)
        if note:
            (console if fmt == "table" and output is None else err_console).print(note, style="dim")
    except QueryError as exc:
        _fail(f"SQL error: {exc}")
    finally:
        con.close()


@cli.command()
@click.option("--include-restricted", is_flag=True, help="Also attach the restricted PII tables (bronze.*_pii).")
def shell(include_restricted: bool) -> None:
    """Interactive DuckDB prompt over the published warehouse (read-only) and the lake tables.

    Statements end with `;`; `.tables`, `.schema NAME`, `.help`, `.quit`. Reads piped stdin too:
    `echo "select count(*) from fct_orders;" | lakehouse shell` (exits 1 if a statement failed).
    """
    from lakehouse.shell import Shell

    con = _reader_connection(include_restricted)
    repl = Shell(con, console, err_console, history=get_settings().paths.cache / "shell_history")
    try:
        errors = repl.run()
    finally:
        con.close()
    if errors and not repl.interactive:
        sys.exit(1)


@cli.command(
    "dbt",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "allow_interspersed_args": False},
)
@click.option("--wait", type=float, default=0.0, show_default=True, help="Seconds to wait for another dbt writer.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def dbt_command(wait: float, args: tuple[str, ...]) -> None:
    """Any dbt command with the project's environment, against the build copy (one writer at a time).

    \b
    Examples:
      lakehouse dbt -- test --select fct_orders
      lakehouse dbt -- ls --select tag:marts
      lakehouse dbt -- show --inline "select count(*) from {{ ref('fct_orders') }}"
    A failing run/build/test is recorded and blocks `lakehouse publish` until a later run passes.
    """
    from lakehouse.warehouse import WriterBusyError
    from lakehouse.warehouse import dbt as run_dbt

    if not args:
        raise click.UsageError("give dbt arguments after --, e.g. `lakehouse dbt -- ls`")
    try:
        code = run_dbt(list(args), wait_seconds=wait)
    except WriterBusyError as exc:
        _fail(str(exc))
    sys.exit(code)


@cli.command("warehouse-docs")
@click.option("--check", is_flag=True, help="Exit 1 if docs/metrics.md is out of date instead of writing it.")
@click.option("--docs", "dbt_docs", is_flag=True, help="Also run `dbt docs generate` (offline) into the dbt target.")
def warehouse_docs(check: bool, dbt_docs: bool) -> None:
    """Regenerate docs/metrics.md from the metric glossary (and dbt's docs site with --docs)."""
    from lakehouse.glossary import DOC_PATH, render_current

    text = render_current()
    if check:
        if not DOC_PATH.exists() or DOC_PATH.read_text() != text:
            _fail(f"{DOC_PATH} is out of date: run `lakehouse warehouse-docs`")
        console.print(f"{DOC_PATH} is up to date")
    else:
        DOC_PATH.write_text(text)
        console.print(f"wrote {DOC_PATH}")
    if dbt_docs:
        from lakehouse.dbt_runner import target_path
        from lakehouse.warehouse import WriterBusyError
        from lakehouse.warehouse import dbt as run_dbt

        try:
            code = run_dbt(["docs", "generate"])
        except WriterBusyError as exc:
            _fail(str(exc))
        if code:
            _fail(f"dbt docs generate failed (exit {code})", code)
        console.print(f"dbt docs written to {target_path(get_settings())} (open index.html)")


def _register_stage_commands() -> None:
    for module_name, attr in STAGE_COMMANDS:
        cli.add_command(getattr(importlib.import_module(module_name), attr))


_register_stage_commands()


def main() -> None:
    cli(prog_name="lakehouse")


if __name__ == "__main__":
    main()
