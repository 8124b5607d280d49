"""Lake maintenance: compact small Delta files, vacuum removed ones, clean ingested landing files, compact the
ingest ledger. Run by ``lakehouse maintain`` and the ``lake_maintenance`` DAG.

Who may be touched while we work, and how it is kept safe:

- **Compaction** (:func:`optimize_tables`) rewrites small files into larger ones in one commit; the data is the
  same, only the file layout changes. It would conflict with a writer that removes or rewrites the same files,
  so each table is compacted while holding the locks of its writers: the ingest feed locks
  (``lake/_ledger/_locks``) for bronze, quarantine and the ledger, the warehouse single-writer lock for silver,
  gold and the quality results. A table whose writer is busy after ``lock_wait_seconds`` is skipped (``busy``);
  a commit that still conflicts after retries is reported (``conflict``). Append-only logs without a lock of
  their own (the report delivery log) rely on Delta's optimistic concurrency: an append does not conflict
  with a compaction.
- **Vacuum** (:func:`vacuum_tables`) deletes only files a commit removed more than ``retention_hours`` ago;
  files no commit mentions (a writer's uncommitted output) are never touched. Readers that could still need
  removed files are warehouse builds (dbt and the Spark jobs read bronze, silver and gold) and time travel to
  the versions the warehouse recorded. So vacuum holds the warehouse writer lock (no build runs meanwhile) and
  keeps every version named in ``publish_manifest.json``, the previous (rollback) manifest and the pending
  build's manifest, whatever the retention. Below delta-rs's 168 h default the check that refuses short
  retentions is switched off explicitly and the report says so.
- **Landing cleanup** (:func:`cleanup_landing`) deletes a landing file only when the ingest ledger records the
  file's path with the file's current checksum as ``ingested`` or ``duplicate_file``, and the file is older than
  the retention by both its event date (``dt=`` partition, end of that day) and its arrival (mtime). Unknown,
  changed, failed and wholly quarantined files stay. It holds every feed lock, so no ingest runs meanwhile.
- **Ledger compaction** (:func:`compact_ledger`): one small commit per ingest batch adds up; the ledger is
  compacted, checkpointed and its expired commit files cleaned, under every feed lock, and its row count is
  checked to be unchanged.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse import delta
from lakehouse.settings import Settings, get_settings

STEPS = ("optimize", "vacuum", "landing", "ledger")
SMALL_FILE_BYTES = 16 * 1024**2  # a data file under this is "small"
MIN_SMALL_FILES = 8  # compact a table once this many small files share a partition with another small file
LOCK_WAIT_SECONDS = 60.0
PROBLEMS = ("busy", "conflict", "error")

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass
class TableOutcome:
    """What one step did to one table (``name`` like ``bronze/orders``)."""

    name: str
    status: str  # compacted, vacuumed, unchanged, would_compact, would_vacuum, busy, conflict, error
    files_before: int = 0
    files_after: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    files_deleted: int = 0
    bytes_freed: int = 0
    version_before: int | None = None
    version_after: int | None = None
    note: str = ""


@dataclass
class StepReport:
    """One maintenance step: per-table outcomes (Delta steps) or deleted and kept files (landing)."""

    step: str
    dry_run: bool = False
    tables: list[TableOutcome] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)
    landing_bytes: int = 0
    dirs_removed: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def files_deleted(self) -> int:
        return len(self.deleted) + sum(t.files_deleted for t in self.tables)

    @property
    def bytes_freed(self) -> int:
        return self.landing_bytes + sum(t.bytes_freed for t in self.tables)

    @property
    def problems(self) -> list[TableOutcome]:
        return [t for t in self.tables if t.status in PROBLEMS]

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 3),
            "files_deleted": self.files_deleted,
            "bytes_freed": self.bytes_freed,
            "tables": [asdict(t) for t in self.tables],
            "deleted": self.deleted,
            "kept": self.kept,
            "dirs_removed": self.dirs_removed,
            "notes": self.notes,
        }

    def render(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        head = f"{self.step}{' (dry run)' if self.dry_run else ''}: {self.seconds:.1f}s"
        if self.step == "vacuum":
            head += f", {verb} {self.files_deleted} file(s) ({_size(self.bytes_freed)})"
        elif self.step == "landing":
            head += (
                f", {verb} {len(self.deleted)} file(s) ({_size(self.bytes_freed)}), {self.dirs_removed} dir(s) removed"
            )
        lines = [head]
        for t in self.tables:
            files = f"{t.files_before:>5} -> {t.files_after:<5} files"
            sizes = f"{_size(t.bytes_before):>9} -> {_size(t.bytes_after):<9}"
            freed = f"  freed {t.files_deleted} file(s) {_size(t.bytes_freed)}" if t.files_deleted else ""
            note = f"  ({t.note})" if t.note else ""
            lines.append(f"  {t.name:<34} {t.status:<13} {files} {sizes}{freed}{note}")
        if self.kept:
            lines.append("  kept: " + ", ".join(f"{n} {reason}" for reason, n in sorted(self.kept.items())))
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)


@dataclass
class MaintenanceReport:
    steps: list[StepReport] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [f"{s.step} {t.name}: {t.status}: {t.note}" for s in self.steps for t in s.problems]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "steps": [s.to_json() for s in self.steps], "problems": self.problems}

    def render(self) -> str:
        out = [s.render() for s in self.steps]
        if self.problems:
            out.append(f"{len(self.problems)} table(s) not done (the next run catches up):")
            out += [f"  {p}" for p in self.problems]
        return "\n".join(out)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


# ---- which tables, and whose locks ------------------------------------------------------------------------


def lake_tables(settings: Settings) -> dict[str, Path]:
    """Every Delta table maintenance looks after: the lake's layers (restricted tables included) and the report
    delivery log. Keys are ``layer/table`` as in the publish manifest's ``lake_versions``."""
    from lakehouse.duck import lake_tables as duck_lake_tables
    from reports.deliver import log_path

    found = {f"{layer}/{table}": path for (layer, table), path in duck_lake_tables(settings, True).items()}
    delivery_log = log_path(settings)
    if delta.table_exists(delivery_log):
        found["reports/delivery_log"] = delivery_log
    return found


def _feeds_writing(name: str) -> list[str]:
    from ingestion.catalog import FEED_TABLES

    layer, table = name.split("/", 1)
    if layer == "_ledger":
        return sorted(FEED_TABLES)
    if layer in ("bronze", "quarantine"):
        return sorted(feed for feed, tables in FEED_TABLES.items() if table in tables)
    return []


@contextmanager
def feed_locks(settings: Settings, feeds: Sequence[str], wait_seconds: float) -> Iterator[None]:
    """Hold the ingest locks of ``feeds`` (in name order, so two holders cannot deadlock)."""
    from ingestion.loader import feed_lock

    with ExitStack() as stack:
        for feed in sorted(set(feeds)):
            stack.enter_context(feed_lock(settings, feed, wait_seconds=wait_seconds))
        yield


def writers_lock(settings: Settings, name: str, wait_seconds: float):
    """The lock(s) the writers of table ``name`` take: feed locks for ingest tables, the warehouse writer lock for
    the tables builds and quality gates write, none for append-only logs (optimistic concurrency)."""
    from lakehouse.dbt_runner import writer_lock

    layer = name.split("/", 1)[0]
    if layer in ("bronze", "quarantine", "_ledger"):
        return feed_locks(settings, _feeds_writing(name), wait_seconds)
    if layer in ("silver", "gold"):
        return writer_lock(settings, wait_seconds=wait_seconds)
    return nullcontext()


def _busy_errors() -> tuple[type[Exception], ...]:
    from ingestion.loader import FeedBusyError
    from lakehouse.dbt_runner import WriterBusyError

    return (FeedBusyError, WriterBusyError)


def _step_errors() -> tuple[type[Exception], ...]:
    return (*_busy_errors(), delta.DeltaIOError)


def _failed(outcome: TableOutcome, exc: Exception) -> None:
    """Record why a step left a table as it was: a writer held its lock (busy), a concurrent commit won
    (conflict), or another Delta error."""
    if isinstance(exc, _busy_errors()):
        outcome.status = "busy"
    else:
        outcome.status = "conflict" if "conflicted" in str(exc) else "error"
    outcome.note = str(exc)


# ---- optimize ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileStats:
    files: int
    bytes: int
    small_files: int
    compactable: int  # small files sharing their partition with another small file


def file_stats(path: Path, small_file_bytes: int = SMALL_FILE_BYTES) -> FileStats:
    """Active data files of a table, and how many of them compaction could merge."""
    files = delta.active_files(path)
    if files.num_rows == 0:
        return FileStats(0, 0, 0, 0)
    sizes = files.column("size_bytes")
    small = files.filter(pc.less(sizes, small_file_bytes))
    partition_columns = [c for c in files.column_names if c.startswith("partition.")]
    if partition_columns and small.num_rows:
        keyed = small.select(partition_columns).cast(pa.schema([(c, pa.string()) for c in partition_columns]))
        per_partition = keyed.group_by(partition_columns).aggregate([([], "count_all")]).column("count_all")
        counts = per_partition.to_pylist()
    else:
        counts = [small.num_rows]
    return FileStats(
        files=files.num_rows,
        bytes=int(pc.sum(sizes).as_py() or 0),
        small_files=small.num_rows,
        compactable=sum(n for n in counts if n >= 2),
    )


def _compact_one(
    settings: Settings,
    name: str,
    path: Path,
    min_small_files: int,
    small_file_bytes: int,
    dry_run: bool,
    lock_wait_seconds: float,
) -> TableOutcome:
    before = file_stats(path, small_file_bytes)
    outcome = TableOutcome(
        name,
        "unchanged",
        files_before=before.files,
        files_after=before.files,
        bytes_before=before.bytes,
        bytes_after=before.bytes,
        version_before=delta.version(path),
    )
    outcome.version_after = outcome.version_before
    if before.compactable < min_small_files:
        outcome.note = f"{before.compactable} mergeable small file(s), threshold {min_small_files}"
        return outcome
    if dry_run:
        outcome.status = "would_compact"
        outcome.note = f"{before.compactable} mergeable small file(s)"
        return outcome
    try:
        with writers_lock(settings, name, lock_wait_seconds):
            metrics = delta.optimize(path, metadata={"writer": "lakehouse-maintenance", "step": "compact"})
    except _step_errors() as exc:
        _failed(outcome, exc)
        return outcome
    after = file_stats(path, small_file_bytes)
    outcome.status = "compacted" if metrics.get("numFilesRemoved") else "unchanged"
    outcome.files_after, outcome.bytes_after = after.files, after.bytes
    outcome.version_after = delta.version(path)
    outcome.note = f"{metrics.get('numFilesRemoved', 0)} files rewritten into {metrics.get('numFilesAdded', 0)}"
    return outcome


def optimize_tables(
    settings: Settings | None = None,
    tables: Sequence[str] | None = None,
    min_small_files: int = MIN_SMALL_FILES,
    small_file_bytes: int = SMALL_FILE_BYTES,
    dry_run: bool = False,
    lock_wait_seconds: float = LOCK_WAIT_SECONDS,
    log: Log = _quiet,
) -> StepReport:
    """Compact every table (or ``tables``, by ``layer/table`` name) with at least ``min_small_files`` small files
    that share a partition with another small file; others are left alone (``unchanged``)."""
    settings = settings or get_settings()
    started = time.perf_counter()
    report = StepReport("optimize", dry_run=dry_run)
    found = lake_tables(settings)
    for name in _selected(found, tables):
        log(f"optimize {name}")
        try:
            outcome = _compact_one(
                settings, name, found[name], min_small_files, small_file_bytes, dry_run, lock_wait_seconds
            )
        except delta.DeltaIOError as exc:
            outcome = TableOutcome(name, "error", note=str(exc))
        report.tables.append(outcome)
    report.seconds = time.perf_counter() - started
    return report


def _selected(found: dict[str, Path], tables: Sequence[str] | None) -> list[str]:
    if not tables:
        return sorted(found)
    unknown = [t for t in tables if t not in found]
    if unknown:
        raise ValueError(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(sorted(found)) or 'none'}")
    return list(tables)


# ---- vacuum -----------------------------------------------------------------------------------------------


def pinned_versions(settings: Settings) -> dict[str, set[int]]:
    """Lake table versions the warehouse recorded as read: by the published build, the previous one (rollback)
    and the pending build copy. Vacuum keeps their files whatever the retention."""
    from lakehouse.warehouse import files

    f = files(settings)
    recorded: list[dict[str, Any]] = []
    for manifest in (f.manifest, f.previous_manifest):
        if manifest.exists():
            recorded.append(json.loads(manifest.read_text()).get("lake_versions") or {})
    if f.pending.exists():
        recorded += [run.get("lake_versions") or {} for run in json.loads(f.pending.read_text()).get("runs", [])]
    pinned: dict[str, set[int]] = {}
    for versions in recorded:
        for name, version in versions.items():
            pinned.setdefault(name, set()).add(int(version))
    return pinned


def _sizes(path: Path, relative: Sequence[str]) -> int:
    total = 0
    for rel in relative:
        target = path / rel
        if target.exists():
            total += target.stat().st_size
    return total


def vacuum_tables(
    retention_hours: int | None = None,
    settings: Settings | None = None,
    tables: Sequence[str] | None = None,
    dry_run: bool = False,
    lock_wait_seconds: float = LOCK_WAIT_SECONDS,
    log: Log = _quiet,
) -> StepReport:
    """Delete files removed from each table more than ``retention_hours`` ago (default
    ``LAKEHOUSE_DELTA_RETENTION_HOURS``), keeping every version the warehouse's manifests recorded."""
    from lakehouse.dbt_runner import WriterBusyError, writer_lock

    settings = settings or get_settings()
    retention = settings.delta_retention_hours if retention_hours is None else retention_hours
    if retention < 0:
        raise ValueError(f"retention hours must be >= 0, got {retention}")
    started = time.perf_counter()
    report = StepReport("vacuum", dry_run=dry_run)
    found = lake_tables(settings)
    names = _selected(found, tables)
    if retention < delta.SAFE_RETENTION_HOURS:
        report.notes.append(
            f"retention {retention}h is below delta-rs's {delta.SAFE_RETENTION_HOURS}h safety check, which is "
            "switched off for this run: time travel only reaches back that far, except to versions the "
            "warehouse manifests pin (kept)"
        )
    try:
        with writer_lock(settings, wait_seconds=lock_wait_seconds):
            pinned = pinned_versions(settings)
            for name in names:
                log(f"vacuum {name}")
                report.tables.append(_vacuum_one(name, found[name], retention, pinned.get(name, set()), dry_run))
    except WriterBusyError as exc:
        report.tables = [TableOutcome(n, "busy", note=str(exc)) for n in names]
    report.seconds = time.perf_counter() - started
    return report


def _vacuum_one(name: str, path: Path, retention: int, keep: set[int], dry_run: bool) -> TableOutcome:
    try:
        stats = file_stats(path)
        version = delta.version(path)
        kwargs: dict[str, Any] = {"keep_versions": sorted(keep), "allow_short_retention": True}
        # delta-rs lists a removed file until the log forgets it, even once deleted: count what is on disk
        doomed = [
            f for f in delta.vacuum(path, retention_hours=retention, dry_run=True, **kwargs) if (path / f).exists()
        ]
        freed = _sizes(path, doomed)
        if doomed and not dry_run:
            delta.vacuum(path, retention_hours=retention, dry_run=False, **kwargs)
    except delta.DeltaIOError as exc:
        return TableOutcome(name, "error", note=str(exc))
    if not doomed:
        status = "unchanged"
    else:
        status = "would_vacuum" if dry_run else "vacuumed"
    notes = [f"keeps v{', v'.join(str(v) for v in sorted(keep))}"] if keep else []
    return TableOutcome(
        name,
        status,
        files_before=stats.files,
        files_after=stats.files,
        bytes_before=stats.bytes,
        bytes_after=stats.bytes,
        files_deleted=len(doomed),
        bytes_freed=freed,
        version_before=version,
        version_after=delta.version(path),
        note="; ".join(notes),
    )


# ---- landing ----------------------------------------------------------------------------------------------


def _partition_end(rel: str) -> datetime | None:
    from ingestion.loader import partition_date

    day = partition_date(rel)
    if day is None:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)


def landing_age_reference(path: Path, rel: str) -> datetime:
    """The moment a landing file's age counts from: the later of the end of its ``dt=`` day and its arrival
    (mtime), so a late file is kept as long as a punctual one."""
    arrived = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    end = _partition_end(rel)
    return max(arrived, end) if end is not None else arrived


def _ledger_verdicts(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    from ingestion import ledger

    table = ledger.path(settings)
    if not delta.table_exists(table):
        return {}
    columns = ["file_path", "sha256", "status", "rows_read", "quarantined", "started_at", "finished_at"]
    by_path: dict[str, list[dict[str, Any]]] = {}
    for row in delta.read_arrow(table, columns=columns).to_pylist():
        by_path.setdefault(row["file_path"], []).append(row)
    return by_path


def _landing_verdict(rows: list[dict[str, Any]], digest: str) -> str:
    """``delete`` or the reason to keep a landing file the ledger knows by path."""
    same = [r for r in rows if r["sha256"] == digest]
    if not same:
        return "changed"
    done = [r for r in same if r["status"] in ("ingested", "duplicate_file")]
    if not done:
        return "failed"
    latest = max(done, key=lambda r: r["finished_at"] or r["started_at"] or datetime.min.replace(tzinfo=UTC))
    if (
        latest["status"] == "ingested"
        and (latest["rows_read"] or 0) > 0
        and latest["quarantined"] == latest["rows_read"]
    ):
        return "quarantined"
    return "delete"


def cleanup_landing(
    retention_days: int | None = None,
    settings: Settings | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    lock_wait_seconds: float = LOCK_WAIT_SECONDS,
    log: Log = _quiet,
) -> StepReport:
    """Delete landing files older than ``retention_days`` (default ``LAKEHOUSE_LANDING_RETENTION_DAYS``) that the
    ledger records as ingested or duplicate (same path, same checksum), then the folders that left empty.

    Kept, counted by reason: ``recent``, ``unknown`` (not in the ledger), ``changed`` (content differs from what
    was ingested), ``failed``, ``quarantined`` (every row rejected). Folders starting with ``_`` or ``.`` (the
    simulator's ground truth) are not looked at. ``now`` defaults to the settings' as-of time."""
    from ingestion.catalog import FEED_TABLES
    from ingestion.loader import sha256_of

    settings = settings or get_settings()
    retention = settings.landing_retention_days if retention_days is None else retention_days
    if retention < 1:
        raise ValueError(f"landing retention must be at least 1 day, got {retention}")
    cutoff = (now or settings.now()) - timedelta(days=retention)
    started = time.perf_counter()
    report = StepReport("landing", dry_run=dry_run)
    landing = settings.paths.landing
    if not landing.is_dir():
        report.notes.append(f"no landing folder at {landing}")
        return report
    kept: Counter[str] = Counter()
    emptied: set[Path] = set()
    try:
        with feed_locks(settings, list(FEED_TABLES), lock_wait_seconds):
            verdicts = _ledger_verdicts(settings)
            if not verdicts:
                report.notes.append("the ingest ledger is empty or missing: no file is known to be ingested")
            for path in sorted(_landing_files(landing)):
                rel = str(path.relative_to(landing))
                if landing_age_reference(path, rel) >= cutoff:
                    kept["recent"] += 1
                    continue
                rows = verdicts.get(rel)
                verdict = _landing_verdict(rows, sha256_of(path)) if rows else "unknown"
                if verdict != "delete":
                    kept[verdict] += 1
                    continue
                report.landing_bytes += path.stat().st_size
                report.deleted.append(rel)
                if not dry_run:
                    path.unlink()
                    emptied.add(path.parent)
            if not dry_run:
                report.dirs_removed = _remove_empty_dirs(landing, emptied)
    except _busy_errors() as exc:
        report.tables.append(TableOutcome("landing", "busy", note=str(exc)))
    report.kept = dict(kept)
    log(f"landing: {len(report.deleted)} file(s) {'to delete' if dry_run else 'deleted'}, kept {dict(kept)}")
    report.seconds = time.perf_counter() - started
    return report


def _landing_files(landing: Path) -> Iterator[Path]:
    for path in landing.rglob("*"):
        rel = path.relative_to(landing)
        if any(part.startswith(("_", ".")) for part in rel.parts):
            continue
        if path.is_file():
            yield path


def _remove_empty_dirs(landing: Path, candidates: set[Path]) -> int:
    removed = 0
    for folder in sorted(candidates, key=lambda p: len(p.parts), reverse=True):
        current = folder
        while current != landing and landing in current.parents:
            try:
                current.rmdir()  # only succeeds when empty
            except OSError:
                break
            removed += 1
            current = current.parent
    return removed


# ---- ledger -----------------------------------------------------------------------------------------------


def _log_files(path: Path) -> int:
    return len(list((path / "_delta_log").glob("*.json")))


def compact_ledger(
    settings: Settings | None = None,
    dry_run: bool = False,
    lock_wait_seconds: float = LOCK_WAIT_SECONDS,
    log: Log = _quiet,
) -> StepReport:
    """Compact the ingest ledger's data files, checkpoint it and drop expired commit files, under every feed lock.
    The row count is checked before and after (a difference raises :class:`delta.DeltaIOError`)."""
    from ingestion import ledger

    settings = settings or get_settings()
    started = time.perf_counter()
    report = StepReport("ledger", dry_run=dry_run)
    path = ledger.path(settings)
    name = "_ledger/" + ledger.TABLE
    if not delta.table_exists(path):
        report.notes.append(f"no ledger at {path}: nothing ingested yet")
        return report
    log(f"ledger {name}")
    before = file_stats(path)
    logs_before = _log_files(path)
    outcome = TableOutcome(
        name,
        "would_compact" if dry_run else "compacted",
        files_before=before.files,
        files_after=before.files,
        bytes_before=before.bytes,
        bytes_after=before.bytes,
        version_before=delta.version(path),
    )
    report.tables.append(outcome)
    if dry_run:
        outcome.note = f"{before.compactable} mergeable file(s), {logs_before} commit file(s)"
        report.seconds = time.perf_counter() - started
        return report
    try:
        with writers_lock(settings, name, lock_wait_seconds):
            rows_before = delta.row_count(path)
            metrics: dict[str, Any] = {}
            if before.compactable >= 2:
                metrics = delta.optimize(path, metadata={"writer": "lakehouse-maintenance", "step": "compact"})
            delta.checkpoint(path, cleanup_logs=True)
            rows_after = delta.row_count(path)
    except _step_errors() as exc:
        _failed(outcome, exc)
        return report
    if rows_after != rows_before:
        raise delta.DeltaIOError(f"{name}: compaction changed the row count from {rows_before} to {rows_after}")
    after = file_stats(path)
    outcome.status = "compacted" if metrics.get("numFilesRemoved") else "checkpointed"
    outcome.files_after, outcome.bytes_after = after.files, after.bytes
    outcome.version_after = delta.version(path)
    outcome.note = (
        f"{metrics.get('numFilesRemoved', 0)} files rewritten into {metrics.get('numFilesAdded', 0)}, "
        f"checkpoint at v{outcome.version_after}, commit files {logs_before} -> {_log_files(path)}, "
        f"{rows_after} rows"
    )
    report.seconds = time.perf_counter() - started
    return report


# ---- everything -------------------------------------------------------------------------------------------


def maintain(
    steps: Sequence[str] = STEPS,
    settings: Settings | None = None,
    dry_run: bool = False,
    retention_hours: int | None = None,
    landing_retention_days: int | None = None,
    lock_wait_seconds: float = LOCK_WAIT_SECONDS,
    log: Log = _quiet,
) -> MaintenanceReport:
    """Run the selected steps in a safe order: compaction before vacuum (so vacuum can free the files compaction
    replaced once they are past the retention), then landing cleanup and ledger compaction."""
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise ValueError(f"unknown maintenance step(s) {', '.join(unknown)}; known: {', '.join(STEPS)}")
    settings = settings or get_settings()
    report = MaintenanceReport()
    for step in STEPS:
        if step not in steps:
            continue
        log(f"== {step}")
        if step == "optimize":
            result = optimize_tables(settings, dry_run=dry_run, lock_wait_seconds=lock_wait_seconds, log=log)
        elif step == "vacuum":
            result = vacuum_tables(
                retention_hours, settings, dry_run=dry_run, lock_wait_seconds=lock_wait_seconds, log=log
            )
        elif step == "landing":
            result = cleanup_landing(
                landing_retention_days, settings, dry_run=dry_run, lock_wait_seconds=lock_wait_seconds, log=log
            )
        else:
            result = compact_ledger(settings, dry_run=dry_run, lock_wait_seconds=lock_wait_seconds, log=log)
        report.steps.append(result)
    return report
