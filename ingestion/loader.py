"""Batch loader: landing files of one feed -> bronze Delta table, quarantine and ledger.

For each batch of new files (bounded in files and bytes): read every file, validate the batch against the
feed's contract in one vectorised pass, drop duplicate keys (within the batch and against what bronze
already holds for the batch's event dates), then commit bronze once, quarantine once and the ledger once.
Bronze and quarantine writes are idempotent on keys, so a run killed between commits and re-run loses
nothing and duplicates nothing; the ledger row is written last and makes the file "done".

One loader per feed runs at a time (a file lock per feed); different feeds run concurrently and the
shared ledger takes their appends through Delta's optimistic concurrency with retries.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa

from ingestion import ledger
from ingestion.contracts import Contract, arrow_type
from ingestion.readers import BatchRead, ReadResult, UnreadableFileError
from ingestion.validate import validate
from lakehouse import delta, locks
from lakehouse.secrets import pii_salt
from lakehouse.settings import Settings

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("feed", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_sha256", pa.string(), nullable=False),
        pa.field("source_line", pa.int64(), nullable=False),
        pa.field("rule", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw_record", pa.string()),
        pa.field("contract_version", pa.int64()),
        pa.field("run_id", pa.string()),
        pa.field("quarantined_at", pa.timestamp("us", tz="UTC")),
        pa.field("replayed", pa.bool_()),
    ]
)
QUARANTINE_KEY = ("source_sha256", "source_line")


@dataclass(frozen=True)
class Feed:
    """A landing feed: where its files are, how to read one, and its contract."""

    name: str
    contract: Contract
    pattern: str  # glob under the landing root
    reader: Callable[[Path, str], ReadResult]
    batch_files: int = 400
    batch_bytes: int = 256 * 1024 * 1024
    orphan_check: Callable[[pl.DataFrame, Settings], pl.Series] | None = None  # flags, never rejects
    batch_reader: Callable[[list[tuple[Path, str]]], BatchRead] | None = None  # parses a whole batch at once

    def files(self, landing: Path) -> list[Path]:
        """Landing files in arrival order (modification time, then path): of two identical files the one
        that arrived first is the original and the other the duplicate."""
        found = [p for p in landing.glob(self.pattern) if p.is_file()]
        return sorted(found, key=lambda p: (p.stat().st_mtime_ns, str(p)))


@dataclass
class FeedSummary:
    feed: str
    files: int = 0
    skipped: int = 0
    rows: int = 0
    accepted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    flagged: int = 0
    failed: int = 0
    seconds: float = 0.0
    versions: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def partition_date(rel_path: str) -> date | None:
    """The event date a landing path declares (``.../dt=2026-03-01/...``), if any."""
    for part in Path(rel_path).parts:
        if part.startswith("dt="):
            try:
                return date.fromisoformat(part[3:])
            except ValueError:
                return None
    return None


class FeedBusyError(RuntimeError):
    """Another process holds a feed's lock (an ingest or a replay of that feed is running)."""


@contextmanager
def feed_lock(settings: Settings, feed: str, wait_seconds: float | None = None) -> Iterator[None]:
    """Hold ``feed``'s lock: one loader per feed at a time. Blocks until free, or with ``wait_seconds`` raises
    :class:`FeedBusyError` if the lock is still held after that long."""
    lock_dir = settings.paths.layer("_ledger") / "_locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{feed}.lock", "w") as handle:
        if not locks.acquire(handle, wait_seconds):
            raise FeedBusyError(f"feed {feed}: another ingest holds {lock_dir / (feed + '.lock')}")
        try:
            yield
        finally:
            locks.release(handle)


def bronze_schema(contract: Contract) -> pa.Schema:
    """The bronze table's schema: the contract's non-PII fields (in the normalised order for shared tables),
    derived columns, then lineage."""
    hashed_sources = {src for src, _ in contract.hash_fields}
    kept = [f for f in contract.fields if not f.pii and f.name not in hashed_sources]
    if contract.table_columns is not None:
        by_name = {f.name: f for f in kept}
        kept = [by_name[name] for name in contract.table_columns]
    fields = [
        pa.field(f.name, arrow_type(f.type), nullable=not (f.required and f.name in contract.primary_key)) for f in kept
    ]
    fields += [pa.field(f"{f.name}_offset", pa.string()) for f in contract.fields if f.keep_offset]
    fields += [pa.field(dst, pa.string()) for _, dst in contract.hash_fields]
    fields += [pa.field(name, pa.string()) for name, _ in contract.constants]
    if contract.snapshot:
        fields.append(pa.field("snapshot_date", pa.date32(), nullable=False))
    if contract.event_time:
        fields.append(pa.field("event_date", pa.date32()))
    fields += [
        pa.field("_extra", pa.string()),
        pa.field("_orphan", pa.bool_()),
        pa.field("_source_file", pa.string()),
        pa.field("_source_line", pa.int64()),
        pa.field("_run_id", pa.string()),
        pa.field("_ingested_at", pa.timestamp("us", tz="UTC")),
    ]
    return pa.schema(fields)


def restricted_schema(contract: Contract) -> pa.Schema:
    fields = [pa.field(k, pa.string(), nullable=False) for k in contract.primary_key]
    fields += [pa.field(f.name, arrow_type(f.type)) for f in contract.pii_fields]
    fields += [pa.field(dst, pa.string()) for _, dst in contract.hash_fields]
    if "event_date" in contract.partition_by:
        fields.append(pa.field("event_date", pa.date32()))
    fields.append(pa.field("_ingested_at", pa.timestamp("us", tz="UTC")))
    return pa.schema(fields)


def _to_arrow(frame: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    for f in schema:
        if f.name not in frame.columns:
            frame = frame.with_columns(pl.lit(None).alias(f.name))
    return frame.select(schema.names).to_arrow().cast(schema)


def _append_new(
    table_path: Path, frame: pl.DataFrame, schema: pa.Schema, keys: list[str], filters: list, metadata: dict
) -> int | None:
    """Append the rows of ``frame`` whose ``keys`` the table does not hold yet (``filters`` narrow the key scan
    to the partitions or files concerned). Idempotent, so a re-run after a crash adds nothing twice; used
    instead of MERGE, whose cost grows with the table. Returns the new version, or None if nothing was new."""
    if delta.table_exists(table_path):
        held = delta.read_arrow(table_path, columns=keys, filters=filters)
        if held.num_rows:
            existing = pl.from_arrow(held)
            assert isinstance(existing, pl.DataFrame)
            frame = frame.join(existing.cast({k: frame.schema[k] for k in keys}), on=keys, how="anti", nulls_equal=True)
    if not frame.height:
        return None
    return delta.write(table_path, _to_arrow(frame, schema), metadata=metadata).version


def _existing_keys(table_path: Path, keys: tuple[str, ...], dates: list[date] | None) -> pl.DataFrame | None:
    if not delta.table_exists(table_path):
        return None
    filters = [("event_date", "in", dates)] if dates else None
    existing = delta.read_arrow(table_path, columns=list(keys), filters=filters)
    return pl.from_arrow(existing) if existing.num_rows else None  # type: ignore[return-value]


class Loader:
    """Runs one feed's ingestion. Use :func:`ingestion.run.ingest` rather than this directly."""

    def __init__(self, feed: Feed, settings: Settings, run_id: str | None = None, log: Callable[[str], None] = print):
        self.feed = feed
        self.settings = settings
        self.run_id = run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.log = log
        self.landing = settings.paths.landing
        self.bronze = settings.paths.table("bronze", feed.contract.table)
        self.quarantine = settings.paths.table("quarantine", feed.contract.table)
        self.salt = pii_salt(settings)

    # -- planning ---------------------------------------------------------------------------------
    def plan(
        self,
        since: date | None = None,
        until: date | None = None,
        force: tuple[Path, ...] = (),
        reprocess: bool = False,
    ) -> tuple[list[tuple[Path, str, str]], list[tuple[Path, str, str]], int]:
        """(new files, duplicate files, skipped count); each file as (path, relative path, sha256).

        ``reprocess`` (a backfill) takes every file dated in ``since``..``until`` again, ingested or not: loads are
        idempotent on the feed's keys, so a re-run replaces rows instead of adding copies."""
        if reprocess and (since is None or until is None):
            raise ValueError(f"{self.feed.name}: reprocessing needs a bounded range (since and until)")
        ingested, recorded_duplicates = ledger.known_files(self.settings, self.feed.name)
        forced = {p.resolve() for p in force}
        new, dupes, skipped, seen = [], [], 0, {}
        for path in self.feed.files(self.landing):
            rel = str(path.relative_to(self.landing))
            day = partition_date(rel)
            if day is not None and ((since and day < since) or (until and day > until)):
                continue
            digest = sha256_of(path)
            if path.resolve() in forced or (reprocess and day is not None):
                new.append((path, rel, digest))
            elif rel in ingested.get(digest, ()) or rel in recorded_duplicates:
                skipped += 1
            elif (digest in ingested or digest in seen) and not self.feed.contract.snapshot:
                # the same bytes under another name; for snapshots, an unchanged table on a new date is not
                dupes.append((path, rel, digest))
            else:
                seen[digest] = rel
                new.append((path, rel, digest))
        return new, dupes, skipped

    def batches(self, files: list[tuple[Path, str, str]]) -> Iterator[list[tuple[Path, str, str]]]:
        batch: list[tuple[Path, str, str]] = []
        size = 0
        for item in files:
            item_size = item[0].stat().st_size
            if batch and (len(batch) >= self.feed.batch_files or size + item_size > self.feed.batch_bytes):
                yield batch
                batch, size = [], 0
            batch.append(item)
            size += item_size
        if batch:
            yield batch

    # -- one batch --------------------------------------------------------------------------------
    def load_batch(self, batch: list[tuple[Path, str, str]], summary: FeedSummary) -> list[ledger.FileEntry]:
        contract = self.feed.contract
        now = datetime.now(UTC)
        batch_id = uuid.uuid4().hex[:12]
        entries: dict[str, ledger.FileEntry] = {}
        frames, malformed = [], []
        for path, rel, digest in batch:
            entries[rel] = ledger.FileEntry(
                file_path=rel,
                feed=self.feed.name,
                sha256=digest,
                size_bytes=path.stat().st_size,
                contract_version=contract.version,
                run_id=self.run_id,
                batch_id=batch_id,
                started_at=now,
            )
        if self.feed.batch_reader is not None:
            started = time.perf_counter()
            read = self.feed.batch_reader([(path, rel) for path, rel, _ in batch])
            share = (time.perf_counter() - started) / max(1, len(batch))
            for rel, entry in entries.items():
                if rel in read.failures:
                    entry.status, entry.error = "failed", read.failures[rel]
                    summary.errors.append(f"{rel}: {read.failures[rel]}")
                else:
                    entry.rows_read, entry.read_seconds = read.rows_read.get(rel, 0), share
            if read.records.height:
                frames.append(read.records)
            if read.malformed.height:
                malformed.append(read.malformed.with_columns(pl.lit("malformed").alias("rule")))
        else:
            for path, rel, _ in batch:
                entry = entries[rel]
                started = time.perf_counter()
                try:
                    result = self.feed.reader(path, rel)
                except UnreadableFileError as exc:
                    entry.status, entry.error = "failed", str(exc)
                    summary.errors.append(f"{rel}: {exc}")
                    continue
                entry.read_seconds = time.perf_counter() - started
                entry.rows_read = result.rows_read
                if result.records.height:
                    frames.append(result.records)
                if result.malformed.height:
                    malformed.append(
                        result.malformed.with_columns(
                            pl.lit(rel).alias("source_file"), pl.lit("malformed").alias("rule")
                        )
                    )
        raw = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
        validated = validate(contract, raw, self.settings.now(), salt=self.salt) if raw.height else None

        rejected = [m.select("source_file", "source_line", "rule", "reason", "raw_record") for m in malformed]
        accepted = pl.DataFrame()
        if validated is not None:
            rejected.append(validated.rejected)
            accepted = validated.accepted
            for rel, cols in validated.additive_drift.items():
                entries[rel].drift = "additive: " + ", ".join(cols)
            for rel, cols in validated.breaking_drift.items():
                entries[rel].drift = "breaking: missing " + ", ".join(cols)

        accepted, duplicates_per_file, versions = self.write_accepted(accepted, batch_id, now)
        quarantined_per_file: dict[str, int] = {}
        rejected_frame = pl.concat(rejected, how="diagonal_relaxed") if rejected else pl.DataFrame()
        if rejected_frame.height:
            sha = {rel: digest for _, rel, digest in batch}
            rejected_frame = rejected_frame.with_columns(
                pl.lit(self.feed.name).alias("feed"),
                pl.col("source_file").replace_strict(sha, return_dtype=pl.String).alias("source_sha256"),
                pl.lit(contract.version).alias("contract_version"),
                pl.lit(self.run_id).alias("run_id"),
                pl.lit(now).alias("quarantined_at"),
                pl.lit(False).alias("replayed"),
            )
            delta.create_table(self.quarantine, QUARANTINE_SCHEMA, description=f"rejected records of {self.feed.name}")
            for row in rejected_frame.group_by("source_file").len().iter_rows():
                quarantined_per_file[row[0]] = row[1]
            version = _append_new(
                self.quarantine, rejected_frame, QUARANTINE_SCHEMA, list(QUARANTINE_KEY),
                filters=[("source_sha256", "in", list(sha.values()))],
                metadata={"run_id": self.run_id, "batch_id": batch_id},
            )  # fmt: skip
            if version is not None:
                versions[f"quarantine/{self.feed.name}"] = version
        accepted_per_file = dict(accepted.group_by("_source_file").len().iter_rows()) if accepted.height else {}
        flagged_per_file = (
            dict(accepted.filter(pl.col("_orphan")).group_by("_source_file").len().iter_rows())
            if accepted.height and "_orphan" in accepted.columns
            else {}
        )
        finished = datetime.now(UTC)
        for rel, entry in entries.items():
            if entry.status == "failed":
                continue
            entry.accepted = accepted_per_file.get(rel, 0)
            entry.quarantined = quarantined_per_file.get(rel, 0)
            entry.duplicates = duplicates_per_file.get(rel, 0)
            entry.flagged = flagged_per_file.get(rel, 0)
            entry.finished_at = finished
            entry.delta_versions = json.dumps(versions, sort_keys=True)
            if not entry.conserved():
                raise AssertionError(f"{rel}: conservation broken: {entry}")
        summary.versions.update(versions)
        return list(entries.values())

    def write_accepted(
        self, accepted: pl.DataFrame, batch_id: str, now: datetime
    ) -> tuple[pl.DataFrame, dict[str, int], dict[str, int]]:
        """De-duplicate validated rows (within the batch, then against bronze) and commit them to bronze
        and the restricted PII table. Returns (rows written, duplicates per source file, Delta versions)."""
        contract = self.feed.contract
        # de-duplicate: within the batch (first occurrence wins), then against bronze
        duplicates_per_file: dict[str, int] = {}
        if accepted.height:
            keys = list(contract.primary_key)
            accepted = accepted.sort(["_source_file", "_source_line"])
            first = accepted.select(pl.struct(keys).is_first_distinct()).to_series()
            dup_rows = accepted.filter(~first)
            accepted = accepted.filter(first)
            dates = accepted["event_date"].unique().to_list() if "event_date" in contract.partition_by else None
            existing = _existing_keys(self.bronze, contract.primary_key, dates)
            if existing is not None:
                existing = existing.with_columns(pl.lit(True).alias("_exists"))
                joined = accepted.join(
                    existing.cast({k: accepted.schema[k] for k in keys}), on=keys, how="left", nulls_equal=True
                )
                dup_rows = pl.concat(
                    [dup_rows, joined.filter(pl.col("_exists")).drop("_exists")], how="diagonal_relaxed"
                )
                accepted = joined.filter(pl.col("_exists").is_null()).drop("_exists")
            for row in dup_rows.group_by("_source_file").len().iter_rows():
                duplicates_per_file[row[0]] = row[1]

        if accepted.height and self.feed.orphan_check is not None:
            accepted = accepted.with_columns(self.feed.orphan_check(accepted, self.settings).alias("_orphan"))
        versions: dict[str, int] = {}
        if accepted.height:
            accepted = accepted.with_columns(pl.lit(self.run_id).alias("_run_id"), pl.lit(now).alias("_ingested_at"))
            schema = bronze_schema(contract)
            delta.create_table(
                self.bronze, schema, partition_by=list(contract.partition_by) or None, description=contract.description
            )
            versions[f"bronze/{contract.table}"] = delta.write(
                self.bronze,
                _to_arrow(accepted, schema),
                evolve_schema=False,
                metadata={"run_id": self.run_id, "batch_id": batch_id, "feed": self.feed.name},
            ).version
            if contract.restricted_table:
                restricted_path = self.settings.paths.table("bronze", contract.restricted_table)
                pii_frame = accepted.select(
                    *[pl.col(k).cast(pl.String) for k in contract.primary_key],
                    *[f.name for f in contract.pii_fields],
                    *[dst for _, dst in contract.hash_fields],
                    *(["event_date"] if "event_date" in accepted.columns else []),
                    "_ingested_at",
                )
                rschema = restricted_schema(contract)
                partitioned = "event_date" in contract.partition_by
                delta.create_table(
                    restricted_path, rschema, partition_by=["event_date"] if partitioned else None,
                    description=f"RESTRICTED: raw PII of {self.feed.name}",
                )  # fmt: skip
                version = _append_new(
                    restricted_path, pii_frame.unique(list(contract.primary_key)), rschema, list(contract.primary_key),
                    filters=[("event_date", "in", dates)] if partitioned and dates else [],
                    metadata={"run_id": self.run_id, "batch_id": batch_id},
                )  # fmt: skip
                if version is not None:
                    versions[f"bronze/{contract.restricted_table}"] = version
        return accepted, duplicates_per_file, versions

    def replay_quarantine(self, rule: str | None = None) -> FeedSummary:
        """Re-validate quarantined records under the current contract; move those that now pass into bronze.

        Exactly once: moved records are marked ``replayed`` in the quarantine, and bronze de-duplicates on
        keys, so a replay interrupted between the two commits and run again moves nothing twice.
        ``rule`` selects records by rule name (``accepted:currency``) or rule kind (``accepted``).
        """
        summary = FeedSummary(self.feed.name)
        started = time.perf_counter()
        with feed_lock(self.settings, self.feed.name):
            if not delta.table_exists(self.quarantine):
                return summary
            pending = pl.from_arrow(delta.read_arrow(self.quarantine)).filter(
                ~pl.col("replayed") & (pl.col("feed") == self.feed.name)
            )
            if rule:
                pending = pending.filter((pl.col("rule") == rule) | pl.col("rule").str.starts_with(rule + ":"))
            records, parsed_keys = [], []
            for row in pending.iter_rows(named=True):
                try:
                    value = json.loads(row["raw_record"] or "")
                except ValueError:
                    continue  # still malformed: stays quarantined
                if isinstance(value, dict):
                    records.append(value)
                    parsed_keys.append((row["source_file"], row["source_line"], row["raw_record"]))
            summary.rows = pending.height
            if not records:
                summary.quarantined = pending.height
                return summary
            from ingestion.readers import flatten

            raw = flatten(pl.from_dicts(records, infer_schema_length=None)).with_columns(
                pl.Series("_file", [k[0] for k in parsed_keys]),
                pl.Series("_line", [k[1] for k in parsed_keys], dtype=pl.Int64),
                pl.Series("_raw", [k[2] for k in parsed_keys]),
            )
            validated = validate(self.feed.contract, raw, self.settings.now(), salt=self.salt)
            now = datetime.now(UTC)
            written, duplicates, versions = self.write_accepted(validated.accepted, "replay", now)
            passed = validated.accepted.select(
                pl.col("_source_file").alias("source_file"), pl.col("_source_line").alias("source_line")
            )
            if passed.height:
                moved = pending.join(passed, on=["source_file", "source_line"], how="semi").with_columns(
                    pl.lit(True).alias("replayed")
                )
                versions[f"quarantine/{self.feed.name}"] = delta.merge(
                    self.quarantine,
                    _to_arrow(moved, QUARANTINE_SCHEMA),
                    keys=list(QUARANTINE_KEY),
                    metadata={"run_id": self.run_id, "action": "replay"},
                ).version
            summary.accepted = written.height
            summary.duplicates = sum(duplicates.values())
            summary.quarantined = pending.height - passed.height
            summary.versions = versions
        summary.seconds = time.perf_counter() - started
        return summary

    def duplicate_file_entries(self, dupes: list[tuple[Path, str, str]]) -> list[ledger.FileEntry]:
        entries = []
        for path, rel, digest in dupes:
            try:
                rows = self.feed.reader(path, rel).rows_read
            except UnreadableFileError:
                rows = 0
            entries.append(
                ledger.FileEntry(
                    file_path=rel,
                    feed=self.feed.name,
                    sha256=digest,
                    size_bytes=path.stat().st_size,
                    rows_read=rows,
                    duplicates=rows,
                    status="duplicate_file",
                    contract_version=self.feed.contract.version,
                    run_id=self.run_id,
                    started_at=datetime.now(UTC),
                    finished_at=datetime.now(UTC),
                    error="same content as an already ingested file",
                )
            )
        return entries

    def run(
        self,
        since: date | None = None,
        until: date | None = None,
        force: tuple[Path, ...] = (),
        on_batch: Callable[[int, int], None] | None = None,
        reprocess: bool = False,
    ) -> FeedSummary:
        started = time.perf_counter()
        summary = FeedSummary(self.feed.name)
        with feed_lock(self.settings, self.feed.name):
            new, dupes, skipped = self.plan(since, until, force, reprocess)
            summary.skipped = skipped
            all_entries: list[ledger.FileEntry] = []
            batches = list(self.batches(new))
            for index, batch in enumerate(batches):
                entries = self.load_batch(batch, summary)
                ledger.record(self.settings, entries)
                all_entries += entries
                if on_batch:
                    on_batch(index + 1, len(batches))
            # recorded only after their originals are in: a crash before this point re-classifies them
            duplicates = self.duplicate_file_entries(dupes)
            ledger.record(self.settings, duplicates)
            all_entries += duplicates
        for e in all_entries:
            summary.files += 1
            summary.rows += e.rows_read
            summary.accepted += e.accepted
            summary.quarantined += e.quarantined
            summary.duplicates += e.duplicates
            summary.flagged += e.flagged
            summary.failed += e.status == "failed"
        summary.seconds = time.perf_counter() - started
        return summary
