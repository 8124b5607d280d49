"""Building and publishing the warehouse: dbt writes a build copy, ``publish`` swaps it in.

Readers (Superset, seller reports, ``lakehouse sql``, :func:`lakehouse.connect`) only ever open the published
``warehouse/warehouse.duckdb``, read-only. dbt never touches that file: it builds into
``warehouse/build/warehouse.duckdb``, a copy of the published file (so incremental marts keep their state),
under the single-writer lock. :func:`publish` moves the build over the published file with ``os.replace``
(atomic: a reader opens either the old or the new file, whole), keeps the replaced file in
``warehouse/previous/`` for ``publish(rollback=True)`` and records what was published in
``publish_manifest.json`` and ``publishes.jsonl``.

Each dbt run on the build copy is recorded in ``warehouse/build/pending_manifest.json`` before it starts (with
the Delta version of every lake table its layer reads) and completed when it ends; a build whose last run of
any layer did not succeed cannot be published.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse import dbt_runner
from lakehouse.dbt_runner import DbtError, DbtResult, NodeResult, WriterBusyError, run_dbt, target_path, writer_lock
from lakehouse.settings import Settings, get_settings

__all__ = [
    "LAYERS",
    "BuildResult",
    "DbtError",
    "GoldJobError",
    "LayerRun",
    "PublishError",
    "WriterBusyError",
    "build",
    "dbt",
    "files",
    "publish",
]

LAYERS = ("silver", "gold", "marts")  # in build order; gold is the Spark jobs' layer (spark_jobs.GOLD_JOBS)
# what each layer's dbt selection is: silver also selects the sources so their tests run with staging
_LAYER_SELECT = {"silver": ("tag:silver", "source:*"), "marts": ("tag:marts",)}
# silver: only tests whose parents are all in the layer (a test spanning staging and a mart waits for the
# marts run); marts: every test touching a mart
_LAYER_INDIRECT = {"silver": "cautious", "marts": "eager"}
# lake layers each warehouse layer reads (marts read bronze through the staging views, silver through theirs)
LAYER_READS = {"silver": ("bronze",), "gold": ("bronze", "silver"), "marts": ("bronze", "silver", "gold")}
# dbt commands that change the build copy: their runs are recorded and gate publishing
_WRITING_COMMANDS = {"build", "run", "seed", "snapshot", "test", "run-operation", "clone"}


class PublishError(RuntimeError):
    """The build copy cannot be published (missing, or its last dbt run failed), or nothing to roll back."""


@dataclass(frozen=True)
class WarehouseFiles:
    published: Path
    build: Path
    pending: Path
    previous: Path
    manifest: Path
    previous_manifest: Path
    log: Path


def files(settings: Settings | None = None) -> WarehouseFiles:
    """Where the published file, the build copy, the previous file and the manifests live."""
    settings = settings or get_settings()
    root = settings.paths.warehouse
    return WarehouseFiles(
        published=settings.paths.warehouse_file,
        build=root / "build" / "warehouse.duckdb",
        pending=root / "build" / "pending_manifest.json",
        previous=root / "previous" / "warehouse.duckdb",
        manifest=root / "publish_manifest.json",
        previous_manifest=root / "previous" / "publish_manifest.json",
        log=root / "publishes.jsonl",
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


# ---- the build copy and its pending manifest ---------------------------------------------------------------


def prepare_build_copy(settings: Settings) -> Path:
    """Make sure the build copy exists: a copy of the published file, or nothing (dbt creates it) on the first
    run. Caller holds the writer lock."""
    f = files(settings)
    f.build.parent.mkdir(parents=True, exist_ok=True)
    if f.build.exists():
        if _read_json(f.pending) is None:
            _write_json(f.pending, {"created_at": _now(), "base": None, "runs": []})
        return f.build
    for stale in (f.build.with_name(f.build.name + ".wal"), f.pending):
        stale.unlink(missing_ok=True)
    base = None
    if f.published.exists():
        tmp = f.build.with_name(f".{f.build.name}.copying")
        shutil.copyfile(f.published, tmp)
        os.replace(tmp, f.build)
        published = _read_json(f.manifest) or {}
        base = {"published_at": published.get("published_at"), "sha256": published.get("sha256")}
    _write_json(f.pending, {"created_at": _now(), "base": base, "runs": []})
    return f.build


def pending_runs(settings: Settings | None = None) -> list[dict]:
    """The dbt runs recorded on the current build copy (oldest first)."""
    pending = _read_json(files(settings).pending) or {}
    return list(pending.get("runs", []))


def record_run(settings: Settings, run: dict) -> None:
    """Add or update (by ``run_id``) a run in the pending manifest. Caller holds the writer lock."""
    f = files(settings)
    pending = _read_json(f.pending) or {"created_at": _now(), "base": None, "runs": []}
    runs = [r for r in pending["runs"] if r.get("run_id") != run.get("run_id")]
    runs.append(run)
    pending["runs"] = runs
    _write_json(f.pending, pending)


def record_quality(settings: Settings, layer: str, report: dict) -> None:
    """Keep a quality gate's outcome (``CheckReport.to_json()``) with the build copy; :func:`publish` refuses
    a build whose silver or marts checks found an error. Bronze checks gate the build itself (the DAG and
    ``make run`` stop before building), so they are recorded only for the manifest."""
    f = files(settings)
    with writer_lock(settings, wait_seconds=60):
        pending = _read_json(f.pending) or {"created_at": _now(), "base": None, "runs": []}
        errors = [r for r in report.get("results", []) if r.get("severity") == "error" and not r.get("success")]
        warnings = [r for r in report.get("results", []) if r.get("severity") == "warn" and not r.get("success")]
        pending.setdefault("quality", {})[layer] = {
            "run_id": report.get("run_id"),
            "ok": not errors,
            "errors": len(errors),
            "warnings": len(warnings),
            "failed": [f"{r.get('table')}: {r.get('expectation')} (observed {r.get('observed')})" for r in errors][:20],
        }
        _write_json(f.pending, pending)


class QualityGateError(RuntimeError):
    """A quality gate found error-severity failures (the message is the readable summary)."""


def quality_gate(layer: str, since: Any = None, settings: Settings | None = None, raise_on_error: bool = False):
    """Run a layer's Great Expectations checks (``expectations.run_checks``) and, for silver and marts, keep the
    outcome with the build copy so :func:`publish` refuses a build with errors. Returns the ``CheckReport``;
    with ``raise_on_error`` an error raises :class:`QualityGateError` carrying the summary (Airflow tasks)."""
    from expectations import run_checks

    settings = settings or get_settings()
    report = run_checks(layer, since=since, settings=settings)
    if layer != "bronze" and files(settings).build.exists():
        record_quality(settings, layer, report.to_json())
    if raise_on_error and not report.ok:
        raise QualityGateError(report.render())
    return report


# platform tables copied into every published file for the data-health dashboard (read by Superset, which
# has no delta extension: they must be plain tables)
PLATFORM_TABLES = ("quality_results", "ingest_files", "quarantine_summary", "publish_history")


def _publish_platform_tables(
    settings: Settings, database: Path, f: WarehouseFiles, published_at: str, quality_status: str
) -> None:
    """Copy the platform's own records into the build copy so readers see the health of the data they read:
    ``quality_results`` (``lake/_quality/results``), ``ingest_files`` (the ingest ledger), ``quarantine_summary``
    (quarantined records per feed, rule and day) and ``publish_history`` (``publishes.jsonl`` plus this publish).
    Each table exists even when its source does not yet (empty, with its schema), so dashboards never break."""
    import pyarrow as pa

    from expectations.runner import RESULTS_SCHEMA
    from ingestion import ledger
    from lakehouse import delta
    from lakehouse.duck import raw_connect

    publishes = [json.loads(line) for line in f.log.read_text().splitlines() if line.strip()] if f.log.exists() else []
    publishes.append({"action": "publish", "published_at": published_at, "quality": {"status": quality_status}})
    history = pa.table(  # noqa: F841 - read by DuckDB's replacement scan
        {
            "published_at": pa.array([p.get("published_at") for p in publishes], pa.string()),
            "action": pa.array([p.get("action") for p in publishes], pa.string()),
            "quality_status": pa.array([(p.get("quality") or {}).get("status") for p in publishes], pa.string()),
            "size_bytes": pa.array([p.get("size_bytes") for p in publishes], pa.int64()),
        }
    )
    quarantine_tables = [
        (path.name, path) for path in sorted(settings.paths.layer("quarantine").glob("*")) if delta.table_exists(path)
    ]
    con = raw_connect(database, settings=settings)
    try:
        for name, path, schema in (
            ("quality_results", settings.paths.table("_quality", "results"), RESULTS_SCHEMA),
            ("ingest_files", ledger.path(settings), ledger.SCHEMA),
        ):
            if delta.table_exists(path):
                con.execute(f"create or replace table main.{name} as select * from delta_scan(?)", [str(path)])
            else:
                empty = schema.empty_table()  # noqa: F841 - read by DuckDB's replacement scan
                con.execute(f"create or replace table main.{name} as select * from empty")
        parts = [
            f"select feed, rule, cast(quarantined_at as date) as quarantined_date, count(*) as records "
            f"from delta_scan('{str(path).replace(chr(39), chr(39) * 2)}') group by all"
            for _, path in quarantine_tables
        ]
        con.execute(
            "create or replace table main.quarantine_summary as "
            + (
                " union all ".join(parts)
                if parts
                else "select ''::varchar as feed, ''::varchar as rule, null::date as quarantined_date, "
                "0::bigint as records where false"
            )
        )
        con.execute(
            "create or replace table main.publish_history as select cast(published_at as timestamptz) as "
            "published_at, action, quality_status, size_bytes from history"
        )
        con.execute("checkpoint")
    finally:
        con.close()


def lake_versions(settings: Settings, layers: Iterable[str]) -> dict[str, int]:
    """The current Delta version of every table in ``layers`` (``"bronze/orders" -> 7``)."""
    from lakehouse import delta
    from lakehouse.duck import lake_tables

    wanted = set(layers)
    return {
        f"{layer}/{table}": delta.version(path)
        for (layer, table), path in lake_tables(settings, include_restricted=True).items()
        if layer in wanted
    }


# ---- building ----------------------------------------------------------------------------------------------


@dataclass
class LayerRun:
    """One dbt invocation on the build copy."""

    layer: str
    args: list[str]
    run_id: str
    started_at: str
    lake_versions: dict[str, int]
    status: str = "running"  # running | success | error
    invocation_id: str | None = None
    seconds: float = 0.0
    returncode: int | None = None
    nodes: list[NodeResult] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    materialized: dict[str, str] = field(default_factory=dict)
    failure: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def counts(self) -> dict[str, dict[str, int]]:
        """Node statuses per kind: ``{"model": {"success": 40}, "test": {"pass": 180, "warn": 1}}``."""
        out: dict[str, Counter] = {}
        for n in self.nodes:
            out.setdefault(n.kind, Counter())[n.status] += 1
        return {kind: dict(sorted(c.items())) for kind, c in sorted(out.items())}

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "layer": self.layer,
            "args": self.args,
            "status": self.status,
            "invocation_id": self.invocation_id,
            "started_at": self.started_at,
            "seconds": round(self.seconds, 3),
            "returncode": self.returncode,
            "lake_versions": self.lake_versions,
            "counts": self.counts(),
            "failed": [
                {"node": n.unique_id, "status": n.status, "message": n.message[:2000]}
                for n in self.nodes
                if n.status in dbt_runner.FAILED_STATUSES
            ],
            "failure": self.failure[-4000:],
        }


@dataclass
class BuildResult:
    database: Path
    runs: list[LayerRun]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.runs)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.runs)

    def summary(self) -> dict:
        """A small JSON-able record (an Airflow task's return value)."""
        return {
            "database": str(self.database),
            "seconds": round(self.seconds, 1),
            "runs": [
                {"layer": r.layer, "invocation_id": r.invocation_id, "status": r.status, "counts": r.counts()}
                for r in self.runs
            ],
        }


def _layer_args(layer: str, full_refresh: bool, select: Sequence[str], tests_on_window: bool = False) -> list[str]:
    selectors: list[str] = []
    for base in _LAYER_SELECT[layer]:
        if select:
            if base.startswith("source:"):
                continue  # a narrowed build selects what was asked; sources come with `source:...` in --select
            selectors += [f"{base},{s}" for s in select]
        else:
            selectors.append(base)
    if layer == "silver" and not select and any((dbt_runner.DBT_PROJECT_DIR / "seeds").glob("**/*.csv")):
        selectors.append("resource_type:seed")
    args = ["build", "--select", *selectors, "--indirect-selection", _LAYER_INDIRECT[layer]]
    if full_refresh:
        args.append("--full-refresh")
    elif tests_on_window:
        # extending an existing warehouse: tests of incremental models check the rebuilt window only
        # (dbt_project/macros/test_window.sql)
        args += ["--vars", json.dumps({"tests_on_window": True})]
    return args


def _dbt_manifest_nodes(settings: Settings) -> dict[str, dict]:
    manifest = _read_json(target_path(settings) / "manifest.json") or {}
    return manifest.get("nodes", {})


def _count_rows(settings: Settings, database: Path, run: LayerRun, nodes: dict[str, dict]) -> None:
    """Rows of every model the run built: tables counted in DuckDB, silver Delta tables from Delta metadata.
    (dbt-duckdb reports no row counts in run_results.)"""
    from lakehouse import delta
    from lakehouse.duck import raw_connect

    tables: dict[str, str] = {}
    for n in run.nodes:
        node = nodes.get(n.unique_id, {})
        materialized = str(node.get("config", {}).get("materialized", ""))
        if n.kind != "model" or n.status != "success":
            continue
        run.materialized[n.unique_id] = materialized
        if materialized == "delta":
            path = settings.paths.table("silver", node.get("alias") or node.get("name") or n.name)
            if delta.table_exists(path):
                run.rows[n.unique_id] = delta.row_count(path)
        elif materialized in ("table", "incremental"):
            tables[n.unique_id] = f'"{node.get("schema", "main")}"."{node.get("alias") or n.name}"'
    if not tables or not database.exists():
        return
    con = raw_connect(database, read_only=True, settings=settings)
    try:
        for unique_id, relation in tables.items():
            run.rows[unique_id] = int(con.execute(f"select count(*) from {relation}").fetchone()[0])
    finally:
        con.close()


def _print_results(run: LayerRun, out=None) -> None:
    """The compact per-model table an Airflow task log shows: status, seconds, rows; tests summarised."""
    out = out or sys.stdout
    models = [n for n in run.nodes if n.kind in ("model", "seed", "snapshot")]
    tests = [n for n in run.nodes if n.kind in ("test", "unit_test")]
    width = max([len(n.name) for n in models] + [20])
    lines = [
        f"dbt {run.layer} ({run.status}, {run.seconds:.1f}s, invocation {run.invocation_id}):",
        f"  {'node':<{width}}  {'materialized':<12}  {'status':<10}  {'seconds':>8}  {'rows':>12}",
    ]
    for n in models:
        rows = run.rows.get(n.unique_id)
        lines.append(
            f"  {n.name:<{width}}  {run.materialized.get(n.unique_id, ''):<12}  {n.status:<10}  "
            f"{n.seconds:>8.2f}  {'' if rows is None else f'{rows:,}':>12}"
        )
    if tests:
        summary = Counter(n.status for n in tests)
        lines.append(
            f"  tests: {len(tests)} ("
            + ", ".join(f"{count} {status}" for status, count in sorted(summary.items()))
            + f"), {sum(n.seconds for n in tests):.1f}s"
        )
    for n in tests:
        if n.status in ("fail", "error", "warn", "runtime error"):
            lines.append(f"  test {n.status}: {n.name}: {dbt_runner.first_lines(n.message, 2)}")
    out.write("\n".join(lines) + "\n")
    out.flush()


def _run_on_build_copy(
    settings: Settings,
    layer: str,
    args: list[str],
    threads: int,
    echo: bool,
    read_layers: Sequence[str],
    record: bool = True,
) -> tuple[LayerRun, DbtResult]:
    f = files(settings)
    run = LayerRun(
        layer=layer,
        args=args,
        run_id=uuid.uuid4().hex,
        started_at=_now(),
        lake_versions=lake_versions(settings, read_layers),
    )
    if record:
        record_run(settings, run.to_dict())
    result = run_dbt(args, f.build, settings=settings, threads=threads, echo=echo)
    run.invocation_id = result.invocation_id
    run.seconds = result.seconds
    run.returncode = result.returncode
    run.nodes = result.nodes
    run.status = "success" if result.ok else "error"
    if not result.ok:
        run.failure = result.describe_failure()
    if record:
        record_run(settings, run.to_dict())
    return run, result


def build(
    layer: str = "all",
    full_refresh: bool = False,
    select: Sequence[str] | None = None,
    settings: Settings | None = None,
    wait_seconds: float = 0.0,
    threads: int = 2,
    echo: bool = True,
    master: str | None = None,
    since: Any = None,
) -> BuildResult:
    """Build one layer (``silver``: dbt staging, intermediate, silver Delta tables; ``gold``: the Spark jobs of
    ``spark_jobs.GOLD_JOBS`` into ``lake/gold``; ``marts``: dbt dims, facts, KPI marts) or ``all`` of them in that
    order, with their tests, into the build copy.

    ``select`` narrows dbt (selection syntax) and names gold jobs; ``master`` is the Spark master of the gold jobs
    (default ``LAKEHOUSE_SPARK_MASTER``). ``since`` (a date; backfills) widens the incremental models' rebuilt
    window to start on that day at the latest (the lookback of ``lookback_days`` otherwise). Raises
    :class:`WriterBusyError` when another writer runs (after ``wait_seconds``), :class:`DbtError` naming the
    failing nodes when dbt fails and :class:`GoldJobError` when a Spark job fails (either run is recorded, so the
    build cannot be published).
    """
    settings = settings or get_settings()
    if layer not in (*LAYERS, "all"):
        raise ValueError(f"unknown layer {layer!r}; expected {', '.join(LAYERS)} or all")
    layers = list(LAYERS) if layer == "all" else [layer]
    if since is not None:
        settings = _window_from(settings, since)
    from spark_jobs import gold_jobs

    job_names = {j.name for j in gold_jobs()}
    dbt_select = [s for s in select or () if s not in job_names]
    jobs = gold_jobs([s for s in select or () if s in job_names] or None)
    if layer == "gold" and dbt_select:
        raise ValueError(
            f"unknown gold job(s): {', '.join(dbt_select)}; registered: {', '.join(sorted(job_names)) or 'none'}"
        )
    if select and layer != "gold" and not set(select) & job_names:
        jobs = []  # a narrowed dbt build runs no Spark job unless one is named
    settings.paths.ensure()
    runs: list[LayerRun] = []
    with writer_lock(settings, wait_seconds=wait_seconds):
        f = files(settings)
        extends_existing = f.build.exists() or f.published.exists()
        database = prepare_build_copy(settings)
        for name in layers:
            if name == "gold":
                if not jobs and layer == "all":
                    continue
                gold = _run_gold(settings, jobs, echo, master)
                runs.append(gold)
                if not gold.ok:
                    raise GoldJobError(f"the gold layer failed:\n{gold.failure}")
                continue
            args = _layer_args(name, full_refresh, dbt_select, tests_on_window=extends_existing)
            run, _ = _run_on_build_copy(settings, name, args, threads, echo, LAYER_READS[name])
            if run.nodes:
                try:
                    _count_rows(settings, database, run, _dbt_manifest_nodes(settings))
                except Exception as exc:  # row counts are informative only
                    print(f"(row counts unavailable: {exc})")
            _print_results(run)
            runs.append(run)
            if not run.ok:
                raise DbtError(f"dbt build of the {name} layer failed (exit {run.returncode}):\n{run.failure}")
    return BuildResult(database, runs)


def _window_from(settings: Settings, since: Any) -> Settings:
    """Settings whose ``lookback_days`` reach back to ``since`` (incremental models rebuild from newest - lookback)."""
    import dataclasses
    from datetime import date

    day = since if isinstance(since, date) else date.fromisoformat(str(since))
    days = (settings.now().date() - day).days + 1
    if days > 366:
        raise ValueError(f"since={day}: a window over 366 days is a full rebuild; run `lakehouse build --full-refresh`")
    return dataclasses.replace(settings, lookback_days=max(settings.lookback_days, days))


class GoldJobError(RuntimeError):
    """A Spark job of the gold layer failed (the run is recorded; the build cannot be published)."""


def _run_gold(settings: Settings, jobs: Sequence[Any], echo: bool, master: str | None) -> LayerRun:
    """Run the gold layer's Spark jobs, recorded in the pending manifest like a dbt layer run."""
    from spark_jobs import run_gold_jobs

    run = LayerRun(
        layer="gold",
        args=[j.name for j in jobs],
        run_id=uuid.uuid4().hex,
        started_at=_now(),
        lake_versions=lake_versions(settings, LAYER_READS["gold"]),
    )
    record_run(settings, run.to_dict())
    results = run_gold_jobs(settings, jobs, echo=echo, master=master)
    run.seconds = sum(r.seconds for r in results)
    run.nodes = [NodeResult(f"spark_job.lakehouse.{r.job}", r.status, r.seconds, message=r.error) for r in results]
    run.status = "success" if len(results) == len(jobs) and all(r.status == "success" for r in results) else "error"
    run.failure = "\n".join(f"{r.job}: {r.error}" for r in results if r.error)
    record_run(settings, run.to_dict())
    lines = [f"gold ({run.status}, {run.seconds:.1f}s): " + (", ".join(run.args) or "no jobs registered")]
    for r in results:
        tables = ", ".join(f"{t} v{v}" for t, v in sorted((r.summary.get("tables") or {}).items()))
        lines.append(f"  {r.job:<20}  {r.status:<8}  {r.seconds:>8.1f}s  {tables}")
    print("\n".join(lines), flush=True)
    return run


def dbt(args: Sequence[str], settings: Settings | None = None, wait_seconds: float = 0.0, threads: int = 1) -> int:
    """Any dbt command with the project's environment, against the build copy (``lakehouse dbt -- ...``).

    Commands that change the build copy (run, build, test...) are recorded like a build layer, so a failing
    one blocks publishing until it passes. Returns dbt's exit code.
    """
    settings = settings or get_settings()
    settings.paths.ensure()
    command = next((a for a in args if not a.startswith("-")), "")
    with writer_lock(settings, wait_seconds=wait_seconds):
        prepare_build_copy(settings)
        run, _ = _run_on_build_copy(
            settings,
            f"dbt {command}",
            list(args),
            threads,
            echo=True,
            read_layers=LAYER_READS["marts"] if command in _WRITING_COMMANDS else (),
            record=command in _WRITING_COMMANDS,
        )
    return run.returncode if run.returncode is not None else 1


# ---- publishing --------------------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(4 * 1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _latest_per_layer(runs: list[dict]) -> dict[str, dict]:
    latest: dict[str, dict] = {}
    for run in runs:
        latest[run["layer"]] = run
    return latest


def _checkpoint(path: Path) -> None:
    """Fold a leftover write-ahead log into the file: os.replace moves one file, not its .wal."""
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        import duckdb

        con = duckdb.connect(str(path))
        try:
            con.execute("checkpoint")
        finally:
            con.close()
        wal.unlink(missing_ok=True)


def _link_or_copy(source: Path, target: Path) -> None:
    """Put ``source``'s current content at ``target`` atomically (a hard link when possible)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copy2(source, tmp)
    os.replace(tmp, target)


def _append_log(f: WarehouseFiles, entry: dict) -> None:
    f.log.parent.mkdir(parents=True, exist_ok=True)
    with open(f.log, "a") as fh:
        fh.write(json.dumps(entry, default=str) + "\n")


def publish(
    settings: Settings | None = None,
    rollback: bool = False,
    quality: dict[str, Any] | None = None,
    wait_seconds: float = 0.0,
) -> dict:
    """Swap the build copy in as the published warehouse and return the publish manifest.

    The replaced file becomes ``previous/warehouse.duckdb``. ``rollback=True`` instead puts the previous file
    back (the replaced one becomes previous, so a second rollback rolls forward) and discards an unpublished
    build copy, so the next build starts from the restored file. ``quality`` adds entries to
    the manifest's ``quality`` section (the dbt test counts are always there).
    """
    settings = settings or get_settings()
    f = files(settings)
    with writer_lock(settings, wait_seconds=wait_seconds):
        if rollback:
            return _rollback(f)
        if not f.build.exists():
            raise PublishError(f"nothing to publish: no build at {f.build}; run `lakehouse build` first")
        runs = pending_runs(settings)
        if not runs:
            raise PublishError(f"the build at {f.build} has no recorded dbt run; run `lakehouse build` first")
        latest = _latest_per_layer(runs)
        bad = [r for r in latest.values() if r.get("status") != "success"]
        if bad:
            detail = "\n".join(
                f"  {r['layer']} (invocation {r.get('invocation_id')}, {r.get('status')}): "
                + (
                    "; ".join(f"{x['node']}: {dbt_runner.first_lines(x['message'], 2)}" for x in r.get("failed", []))
                    or (r.get("failure") or "interrupted").strip()[-500:]
                )
                for r in bad
            )
            raise PublishError(
                f"refusing to publish {f.build}: its last dbt run failed or did not finish:\n{detail}\n"
                "fix it and run `lakehouse build` again"
            )
        gates = (_read_json(f.pending) or {}).get("quality", {})
        blocked = {layer: g for layer, g in gates.items() if layer != "bronze" and not g.get("ok")}
        if blocked:
            detail = "\n".join(
                f"  {layer}: {g['errors']} error(s): " + "; ".join(g.get("failed", [])[:5])
                for layer, g in blocked.items()
            )
            raise PublishError(
                f"refusing to publish {f.build}: quality checks found errors (readers keep the current "
                f"warehouse):\n{detail}\nsee `lakehouse check --layer <layer>` for details"
            )
        tests: Counter = Counter()
        for r in latest.values():
            for kind in ("test", "unit_test"):
                tests.update(r.get("counts", {}).get(kind, {}))
        failed_tests = tests.get("fail", 0) + tests.get("error", 0)
        status = "fail" if failed_tests else ("warn" if tests.get("warn") else "pass")
        published_at = _now()
        _publish_platform_tables(settings, f.build, f, published_at, status)
        _checkpoint(f.build)
        manifest = {
            "published_at": published_at,
            "publish_id": uuid.uuid4().hex,
            "file": str(f.published),
            "size_bytes": f.build.stat().st_size,
            "sha256": sha256(f.build),
            "dbt": {
                "invocations": [r.get("invocation_id") for r in runs],
                "runs": runs,
                "results": _sum_counts(latest.values()),
            },
            "lake_versions": {k: v for r in runs for k, v in r.get("lake_versions", {}).items()},
            "quality": {
                "status": status,
                "dbt_tests": dict(sorted(tests.items())),
                "gates": gates or "not checked",
                **(quality or {}),
            },
            "base": (_read_json(f.pending) or {}).get("base"),
        }
        if f.published.exists():
            _link_or_copy(f.published, f.previous)
            if f.manifest.exists():
                shutil.copyfile(f.manifest, f.previous_manifest)
            else:
                f.previous_manifest.unlink(missing_ok=True)
        os.replace(f.build, f.published)
        _write_json(f.manifest, manifest)
        f.pending.unlink(missing_ok=True)
        _append_log(f, {"action": "publish", **{k: v for k, v in manifest.items() if k != "dbt"}})
        return manifest


def _sum_counts(runs: Iterable[dict]) -> dict[str, dict[str, int]]:
    total: dict[str, Counter] = {}
    for r in runs:
        for kind, counts in r.get("counts", {}).items():
            total.setdefault(kind, Counter()).update(counts)
    return {k: dict(sorted(v.items())) for k, v in sorted(total.items())}


def _rollback(f: WarehouseFiles) -> dict:
    if not f.previous.exists():
        raise PublishError(f"nothing to roll back to: no previous warehouse at {f.previous}")
    replaced = _read_json(f.manifest)
    restored = _read_json(f.previous_manifest) or {"sha256": sha256(f.previous)}
    swap = f.previous.with_name(".rollback.duckdb")
    if f.published.exists():
        _link_or_copy(f.published, swap)
    os.replace(f.previous, f.published)
    if swap.exists():
        os.replace(swap, f.previous)
    restored = {**restored, "restored_at": _now()}
    # a pending build grew from the state just rolled back: the next build starts from the restored file
    discarded = f.build.exists()
    for stale in (f.build, f.build.with_name(f.build.name + ".wal"), f.pending):
        stale.unlink(missing_ok=True)
    _write_json(f.manifest, restored)
    if replaced is not None:
        _write_json(f.previous_manifest, replaced)
    else:
        f.previous_manifest.unlink(missing_ok=True)
    _append_log(
        f,
        {
            "action": "rollback",
            "at": restored["restored_at"],
            "restored_sha256": restored.get("sha256"),
            "restored_published_at": restored.get("published_at"),
            "replaced_sha256": (replaced or {}).get("sha256"),
            "discarded_build_copy": discarded,
        },
    )
    return restored
