"""Delta Lake I/O over delta-rs: the one way the project writes and reads lake tables.

Every write enforces the table's schema before delta-rs sees the data, so a mismatch fails with the
table, the column and both types named instead of an engine error. Writes can carry commit metadata
(who wrote, which run) and an application transaction (``app_id``, ``app_version``) that makes a batch
commit exactly-once: re-committing a version the table has already recorded is skipped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

PathLike = str | Path


class DeltaIOError(RuntimeError):
    """A lake table operation failed; the message names the table."""


class SchemaMismatchError(DeltaIOError):
    """Data does not fit the table's schema."""


@dataclass(frozen=True)
class WriteResult:
    """What a write did: the table version after it, and the rows it affected."""

    table: str
    version: int
    rows: int
    skipped: bool = False
    metrics: Mapping[str, Any] | None = None


def _name(path: PathLike) -> str:
    """A short, readable table name for messages: the last three path parts (e.g. lake/bronze/orders)."""
    return "/".join(Path(path).parts[-3:])


def table_exists(path: PathLike) -> bool:
    return DeltaTable.is_deltatable(str(path))


def open_table(path: PathLike, version: int | None = None) -> DeltaTable:
    try:
        return DeltaTable(str(path), version=version)
    except TableNotFoundError:
        raise DeltaIOError(f"{_name(path)}: no Delta table at {path}") from None


def _as_table(data: Any) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if hasattr(data, "to_arrow"):  # polars
        return data.to_arrow()
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    return pa.table(data)


def _commit_properties(
    metadata: Mapping[str, Any] | None, app_id: str | None, app_version: int | None, retries: int
) -> CommitProperties:
    txns = [Transaction(app_id=app_id, version=app_version)] if app_id is not None and app_version is not None else None
    custom = {k: str(v) for k, v in (metadata or {}).items()} or None
    return CommitProperties(custom_metadata=custom, max_commit_retries=retries, app_transactions=txns)


def conform(table_path: PathLike, data: pa.Table, target: pa.Schema, allow_new_columns: bool = False) -> pa.Table:
    """Cast ``data`` to ``target``: same column order, missing nullable columns filled with nulls.

    Raises :class:`SchemaMismatchError` naming the column when a column is missing and not nullable,
    a type cannot be cast safely, or the data has columns the table does not (unless ``allow_new_columns``).
    """
    extra = [n for n in data.column_names if n not in target.names]
    if extra and not allow_new_columns:
        raise SchemaMismatchError(
            f"{_name(table_path)}: data has columns the table does not: {', '.join(extra)} "
            "(schema evolution is off for this write)"
        )
    arrays, fields = [], []
    for field in target:
        if field.name not in data.column_names:
            if not field.nullable:
                raise SchemaMismatchError(
                    f"{_name(table_path)}: required column {field.name!r} is missing from the data"
                )
            arrays.append(pa.nulls(data.num_rows, field.type))
            fields.append(field)
            continue
        column = data.column(field.name)
        if not column.type.equals(field.type):
            try:
                column = pc.cast(column, field.type, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SchemaMismatchError(
                    f"{_name(table_path)}: column {field.name!r} is {field.type} in the table "
                    f"but {data.schema.field(field.name).type} in the data ({exc})"
                ) from None
        if not field.nullable and column.null_count:
            raise SchemaMismatchError(
                f"{_name(table_path)}: column {field.name!r} is required but has {column.null_count} null(s)"
            )
        arrays.append(column)
        fields.append(field)
    for name in extra:
        arrays.append(data.column(name))
        fields.append(data.schema.field(name))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def table_schema(path: PathLike) -> pa.Schema:
    return pa.schema(open_table(path).schema().to_arrow())


def create_table(
    path: PathLike,
    schema: pa.Schema,
    partition_by: Sequence[str] | None = None,
    description: str | None = None,
    constraints: Mapping[str, str] | None = None,
) -> DeltaTable:
    """Create an empty table, or return the existing one if its schema matches ``schema``.

    ``constraints`` are Delta CHECK constraints (name -> SQL expression) that every later write must satisfy.
    """
    if table_exists(path):
        existing = table_schema(path)
        if existing.names != schema.names:
            raise SchemaMismatchError(f"{_name(path)}: exists with columns {existing.names}, expected {schema.names}")
        return open_table(path)
    Path(path).mkdir(parents=True, exist_ok=True)
    table = DeltaTable.create(
        str(path), schema, mode="ignore", partition_by=list(partition_by or []) or None, description=description
    )
    if constraints:
        table.alter.add_constraint(dict(constraints))
    return table


def already_committed(path: PathLike, app_id: str, app_version: int) -> bool:
    """True when the table recorded application transaction ``app_id`` at ``app_version`` or later."""
    if not table_exists(path):
        return False
    seen = open_table(path).transaction_version(app_id)
    return seen is not None and seen >= app_version


def _with_retries(path: PathLike, action, retries: int):
    delay = 0.2
    for attempt in range(retries + 1):
        try:
            return action()
        except CommitFailedError:
            if attempt == retries:
                raise DeltaIOError(f"{_name(path)}: commit conflicted {retries + 1} times; giving up") from None
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    raise AssertionError("unreachable")


def write(
    path: PathLike,
    data: Any,
    mode: Literal["append", "overwrite"] = "append",
    partition_by: Sequence[str] | None = None,
    predicate: str | None = None,
    evolve_schema: bool = False,
    metadata: Mapping[str, Any] | None = None,
    app_id: str | None = None,
    app_version: int | None = None,
    retries: int = 5,
    replace_schema: bool = False,
) -> WriteResult:
    """Append or overwrite (the whole table, or only the rows matching ``predicate``).

    Creates the table on first write. ``replace_schema`` (whole-table overwrite only) replaces the table's
    schema and partitioning with the data's, for rebuilt derived tables whose definition changed.
    With ``app_id``/``app_version`` the commit is exactly-once: when the table already records that
    transaction the write is skipped and ``skipped=True`` returned.
    """
    table = _as_table(data)
    if app_id is not None and app_version is not None and already_committed(path, app_id, app_version):
        return WriteResult(_name(path), open_table(path).version(), 0, skipped=True)
    schema_mode: Literal["merge", "overwrite"] | None = None
    if replace_schema:
        if mode != "overwrite" or predicate is not None:
            raise ValueError("replace_schema needs a whole-table overwrite (mode='overwrite', no predicate)")
        Path(path).mkdir(parents=True, exist_ok=True)
        schema_mode = "overwrite"
    elif table_exists(path):
        table = conform(path, table, table_schema(path), allow_new_columns=evolve_schema)
        if evolve_schema and len(table.schema) > len(table_schema(path)):
            schema_mode = "merge"
        partition_by = None  # the table's own partitioning applies
    else:
        Path(path).mkdir(parents=True, exist_ok=True)

    def action():
        write_deltalake(
            str(path),
            table,
            mode=cast(Any, mode),  # write_deltalake overloads narrow mode by other arguments
            partition_by=list(partition_by) if partition_by else None,
            predicate=predicate,
            schema_mode=schema_mode,
            commit_properties=_commit_properties(metadata, app_id, app_version, retries),
        )

    try:
        _with_retries(path, action, retries)
    except DeltaError as exc:
        raise DeltaIOError(f"{_name(path)}: write failed: {exc}") from exc
    return WriteResult(_name(path), open_table(path).version(), table.num_rows)


def replace_partitions(path: PathLike, data: Any, partition_columns: Sequence[str], **kwargs: Any) -> WriteResult:
    """Overwrite exactly the partitions (distinct values of ``partition_columns``) present in ``data``."""
    table = _as_table(data)
    if table.num_rows == 0:
        return WriteResult(_name(path), open_table(path).version() if table_exists(path) else -1, 0, skipped=True)
    distinct = table.select(list(partition_columns)).group_by(list(partition_columns)).aggregate([])
    clauses = []
    for row in distinct.to_pylist():
        clauses.append("(" + " AND ".join(_sql_equals(c, row[c]) for c in partition_columns) + ")")
    return write(
        path, table, mode="overwrite", predicate=" OR ".join(clauses), partition_by=partition_columns, **kwargs
    )


def _sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _sql_equals(column: str, value: Any) -> str:
    return f"{column} IS NULL" if value is None else f"{column} = {_sql_literal(value)}"


def merge(
    path: PathLike,
    data: Any,
    keys: Sequence[str],
    when_matched: Literal["update", "ignore"] = "update",
    partition_by: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    app_id: str | None = None,
    app_version: int | None = None,
    retries: int = 5,
) -> WriteResult:
    """Upsert ``data`` on ``keys`` (``when_matched='ignore'``: insert only new keys, keep existing rows).

    Duplicate keys within ``data`` are an error (a merge would be ambiguous): de-duplicate first.
    """
    table = _as_table(data)
    if not keys:
        raise ValueError("merge needs at least one key column")
    missing = [k for k in keys if k not in table.column_names]
    if missing:
        raise SchemaMismatchError(f"{_name(path)}: merge key column(s) {missing} not in the data")
    if table.num_rows and table.group_by(list(keys)).aggregate([]).num_rows != table.num_rows:
        raise DeltaIOError(f"{_name(path)}: merge source has duplicate keys on {list(keys)}; de-duplicate first")
    if not table_exists(path):
        return write(
            path,
            table,
            partition_by=partition_by,
            metadata=metadata,
            app_id=app_id,
            app_version=app_version,
            retries=retries,
        )
    if app_id is not None and app_version is not None and already_committed(path, app_id, app_version):
        return WriteResult(_name(path), open_table(path).version(), 0, skipped=True)
    table = conform(path, table, table_schema(path))
    predicate = " AND ".join(f"t.{k} = s.{k}" for k in keys)

    def action():
        dt = open_table(path)
        merger = dt.merge(
            table,
            predicate=predicate,
            source_alias="s",
            target_alias="t",
            commit_properties=_commit_properties(metadata, app_id, app_version, retries),
        )
        if when_matched == "update":
            merger = merger.when_matched_update_all()
        return merger.when_not_matched_insert_all().execute()

    try:
        metrics = _with_retries(path, action, retries)
    except DeltaError as exc:
        raise DeltaIOError(f"{_name(path)}: merge failed: {exc}") from exc
    affected = int(metrics.get("num_target_rows_inserted", 0)) + int(metrics.get("num_target_rows_updated", 0))
    return WriteResult(_name(path), open_table(path).version(), affected, metrics=metrics)


def _dataset(table: DeltaTable, path: PathLike):
    """The table's active files as a pyarrow dataset read by pyarrow's own local filesystem.

    Through delta-rs's filesystem handler, pyarrow's IO threads call into delta-rs's async runtime, and a process
    that exits right after such a read aborted about one time in three ("terminate called without an active
    exception", exit 134), e.g. `lakehouse status`. Local tables do not need the handler."""
    import pyarrow.fs as pafs

    if "://" in str(path):
        return table.to_pyarrow_dataset()
    return table.to_pyarrow_dataset(filesystem=pafs.SubTreeFileSystem(str(path), pafs.LocalFileSystem()))


def read_arrow(
    path: PathLike,
    columns: Sequence[str] | None = None,
    filters: Any = None,
    version: int | None = None,
) -> pa.Table:
    """Read a table (or a version of it) as Arrow; ``filters`` in pyarrow DNF form prune partitions and files."""
    dataset = _dataset(open_table(path, version=version), path)
    expression = None
    if filters:
        import pyarrow.parquet as pq

        expression = pq.filters_to_expression(filters)
    return dataset.to_table(columns=list(columns) if columns else None, filter=expression)


def read_pandas(path: PathLike, **kwargs: Any):
    return read_arrow(path, **kwargs).to_pandas()


def read_polars(path: PathLike, **kwargs: Any):
    import polars as pl

    return pl.from_arrow(read_arrow(path, **kwargs))


def version(path: PathLike) -> int:
    return open_table(path).version()


def row_count(path: PathLike) -> int:
    """Rows in the current version, from the file statistics in the Delta log (no data file is opened;
    falls back to Parquet footers when a writer recorded no statistics)."""
    table = open_table(path)
    counts = pa.table(table.get_add_actions(flatten=True)).column("num_records")
    if counts.null_count:
        return _dataset(table, path).count_rows()
    return int(pc.sum(counts).as_py() or 0)


def history(path: PathLike, limit: int | None = None) -> list[dict[str, Any]]:
    """Commits newest first: version, timestamp, operation, parameters and our commit metadata."""
    return open_table(path).history(limit)


def active_files(path: PathLike) -> pa.Table:
    """The current version's data files: ``path``, ``size_bytes``, ``num_records`` and one ``partition.<col>``
    column per partition column (from the Delta log; no data file is opened)."""
    return pa.table(open_table(path).get_add_actions(flatten=True))


def optimize(
    path: PathLike,
    target_size: int | None = None,
    z_order: Iterable[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    retries: int = 3,
) -> dict[str, Any]:
    """Compact small files (or Z-order by ``z_order`` columns) into one rewrite commit.

    The rewrite removes files, so it conflicts with a concurrent commit that removed or rewrote the same files
    (an overwrite, a merge); it is retried on a fresh snapshot and then fails with :class:`DeltaIOError`."""
    commit = _commit_properties(metadata, None, None, retries)

    def action():
        dt = open_table(path)
        if z_order:
            return dt.optimize.z_order(list(z_order), target_size=target_size, commit_properties=commit)
        return dt.optimize.compact(target_size=target_size, commit_properties=commit)

    try:
        return _with_retries(path, action, retries)
    except DeltaError as exc:
        raise DeltaIOError(f"{_name(path)}: optimize failed: {exc}") from exc


SAFE_RETENTION_HOURS = 168  # delta-rs refuses a shorter vacuum retention unless its check is switched off


def vacuum(
    path: PathLike,
    retention_hours: int = SAFE_RETENTION_HOURS,
    dry_run: bool = False,
    keep_versions: Sequence[int] = (),
    allow_short_retention: bool = False,
) -> list[str]:
    """Delete data files that a commit removed more than ``retention_hours`` ago and that none of
    ``keep_versions`` reads; returns the files (to be) removed, relative to the table.

    Files no commit ever mentioned (a crashed writer's leftovers, a writer's uncommitted files) are left alone.
    A retention under :data:`SAFE_RETENTION_HOURS` breaks time travel and readers of older snapshots, so
    delta-rs refuses it; ``allow_short_retention=True`` is the caller saying it has made sure nobody needs
    those files (otherwise :class:`DeltaIOError`)."""
    if retention_hours < 0:
        raise ValueError(f"{_name(path)}: retention_hours must be >= 0, got {retention_hours}")
    short = retention_hours < SAFE_RETENTION_HOURS
    if short and not allow_short_retention:
        raise DeltaIOError(
            f"{_name(path)}: vacuum retention {retention_hours}h is below {SAFE_RETENTION_HOURS}h; pass "
            "allow_short_retention=True once no reader or time travel needs older files"
        )
    table = open_table(path)
    current = table.version()
    keep = sorted({v for v in keep_versions if 0 <= v < current}) or None
    try:
        return table.vacuum(
            retention_hours=retention_hours,
            dry_run=dry_run,
            enforce_retention_duration=not short,
            keep_versions=keep,
        )
    except DeltaError as exc:
        raise DeltaIOError(f"{_name(path)}: vacuum failed: {exc}") from exc


def checkpoint(path: PathLike, cleanup_logs: bool = True) -> int:
    """Write a checkpoint of the current version (readers then load one Parquet file instead of replaying
    every JSON commit) and, with ``cleanup_logs``, delete commit files older than the table's log retention
    (``delta.logRetentionDuration``, 30 days by default). Returns the checkpointed version."""
    table = open_table(path)
    try:
        table.create_checkpoint()
        if cleanup_logs:
            table.cleanup_metadata()
    except DeltaError as exc:
        raise DeltaIOError(f"{_name(path)}: checkpoint failed: {exc}") from exc
    return table.version()
