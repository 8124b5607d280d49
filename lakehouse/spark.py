"""Spark for the lakehouse: one session builder and the Spark <-> Delta bridge.

No delta-spark jars are reachable here, so Spark never speaks Delta itself. Reads hand Spark the table's active
Parquet files (from delta-rs); writes let the executors write Parquet into a staging folder inside the table, move
the finished files into the table's Hive layout and commit them with delta-rs. Only file names, sizes and Parquet
footers reach the driver, never rows. Tables must live on a file system the driver and executors share.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.transaction import AddAction, CommitProperties, RemoveAction, create_table_with_add_actions
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakehouse.settings import Settings, get_settings

log = logging.getLogger(__name__)

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
_STAGING_PREFIX = "_spark_staging-"
_STRING_STAT_CHARS = 32
_LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.console.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.native.name = org.apache.hadoop.util.NativeCodeLoader
logger.native.level = error
"""


class DeltaBridgeError(RuntimeError):
    """A Delta table cannot be read or written through the Spark bridge as asked."""


def _log4j2_file(settings: Settings) -> Path:
    return settings.paths.cache / "spark-conf" / "log4j2.properties"


def spark_conf(settings: Settings | None = None, conf: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The Spark configuration :func:`get_spark` uses: project defaults overlaid with ``conf``."""
    settings = settings or get_settings()
    cache = settings.paths.cache
    options: dict[str, Any] = {
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.executor.memory": settings.spark_executor_memory,
        "spark.sql.shuffle.partitions": settings.spark_shuffle_partitions,
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.jars.ivy": cache / "ivy",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{_log4j2_file(settings)}",
        "spark.sql.warehouse.dir": cache / "spark-warehouse",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    options.update(conf or {})
    return {key: str(value) for key, value in options.items()}


def get_spark(
    app_name: str = "lakehouse",
    master: str | None = None,
    settings: Settings | None = None,
    conf: Mapping[str, Any] | None = None,
) -> SparkSession:
    """Return the process's Spark session, starting it (and its JVM) on first use.

    ``master`` defaults to ``LAKEHOUSE_SPARK_MASTER`` (``local[*]`` or ``spark://127.0.0.1:7077``); ``conf``
    overrides any default of :func:`spark_conf`. The JVM's environment (``SPARK_LOCAL_IP``, ``PYSPARK_PYTHON``,
    ``JAVA_HOME``, and ``SPARK_LOCAL_DIRS`` for scratch space under the cache folder) is set before it starts.
    JVM-level options (memory, env) only apply to the first session of a process; an existing session is
    returned as is, with ``conf``'s SQL options applied.
    """
    # py4j logs "Closing down clientserver connection" from __del__ at interpreter exit, after stderr closed
    logging.getLogger("py4j").setLevel(logging.WARNING)
    settings = settings or get_settings()
    scratch = settings.paths.cache / "spark-local"
    os.environ.update(settings.spark_env())
    os.environ["SPARK_LOCAL_DIRS"] = str(scratch)
    options = spark_conf(settings, conf)
    for folder in (scratch, Path(options["spark.jars.ivy"]), Path(options["spark.sql.warehouse.dir"])):
        folder.mkdir(parents=True, exist_ok=True)
    log4j2 = _log4j2_file(settings)
    if not log4j2.exists() or log4j2.read_text() != _LOG4J2:
        log4j2.parent.mkdir(parents=True, exist_ok=True)
        log4j2.write_text(_LOG4J2)
    builder = SparkSession.builder.master(master or settings.spark_master).appName(app_name)
    for key, value in options.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def stop_spark() -> None:
    """Stop the active Spark session, if any (the JVM stays up for a later :func:`get_spark`)."""
    spark = SparkSession.getActiveSession()
    if spark is not None:
        spark.stop()


# --- schemas ---------------------------------------------------------------------------------------------------

_SIMPLE_TYPES: list[tuple[type, str]] = [
    (T.StringType, "string"),
    (T.CharType, "string"),
    (T.VarcharType, "string"),
    (T.BinaryType, "binary"),
    (T.BooleanType, "boolean"),
    (T.ByteType, "byte"),
    (T.ShortType, "short"),
    (T.IntegerType, "integer"),
    (T.LongType, "long"),
    (T.FloatType, "float"),
    (T.DoubleType, "double"),
    (T.DateType, "date"),
    (T.TimestampNTZType, "timestamp_ntz"),
    (T.TimestampType, "timestamp"),
]


def _delta_type(data_type: T.DataType, column: str) -> Any:
    for spark_type, delta_name in _SIMPLE_TYPES:
        if isinstance(data_type, spark_type):
            return delta_name
    if isinstance(data_type, T.DecimalType):
        return f"decimal({data_type.precision},{data_type.scale})"
    if isinstance(data_type, T.ArrayType):
        return {"type": "array", "elementType": _delta_type(data_type.elementType, column), "containsNull": True}
    if isinstance(data_type, T.MapType):
        return {
            "type": "map",
            "keyType": _delta_type(data_type.keyType, column),
            "valueType": _delta_type(data_type.valueType, column),
            "valueContainsNull": True,
        }
    if isinstance(data_type, T.StructType):
        return _delta_struct(data_type, column)
    raise DeltaBridgeError(f"column {column!r} has Spark type {data_type.simpleString()}, which Delta cannot store")


def _delta_struct(schema: T.StructType, prefix: str = "") -> dict:
    fields = []
    for f in schema.fields:
        name = f"{prefix}.{f.name}" if prefix else f.name
        fields.append({"name": f.name, "type": _delta_type(f.dataType, name), "nullable": True, "metadata": {}})
    return {"type": "struct", "fields": fields}


def delta_schema_from_spark(schema: T.StructType) -> DeltaSchema:
    """Delta schema for a Spark schema: every column nullable, timestamps as UTC ``timestamp``.

    Its Arrow form (``.to_arrow()``) maps decimals to decimal128, ``timestamp`` to timestamp[us, UTC] and
    ``timestamp_ntz`` to timestamp[us].
    """
    return DeltaSchema.from_json(json.dumps(_delta_struct(schema)))


def spark_schema_from_delta(schema: DeltaSchema) -> T.StructType:
    """Spark schema for a Delta schema (the two share one JSON layout)."""
    return T.StructType.fromJson(json.loads(schema.to_json()))


def _type_signature(delta_type: Any) -> Any:
    """A Delta type without nullability or metadata, for comparing schemas."""
    if isinstance(delta_type, str):
        return delta_type
    if delta_type["type"] == "struct":
        return ("struct", tuple((f["name"], _type_signature(f["type"])) for f in delta_type["fields"]))
    if delta_type["type"] == "array":
        return ("array", _type_signature(delta_type["elementType"]))
    return ("map", _type_signature(delta_type["keyType"]), _type_signature(delta_type["valueType"]))


def _type_text(delta_type: Any) -> str:
    return delta_type if isinstance(delta_type, str) else json.dumps(delta_type)


def _check_compatible(table_path: str, table_schema: DeltaSchema, new_schema: DeltaSchema) -> None:
    table_fields = {f["name"]: f for f in json.loads(table_schema.to_json())["fields"]}
    new_fields = {f["name"]: f for f in json.loads(new_schema.to_json())["fields"]}
    missing = [name for name in table_fields if name not in new_fields]
    extra = [name for name in new_fields if name not in table_fields]
    if missing or extra:
        details = []
        if missing:
            details.append(f"missing column(s) {', '.join(map(repr, missing))}")
        if extra:
            details.append(f"column(s) {', '.join(map(repr, extra))} not in the table")
        raise DeltaBridgeError(
            f"schema mismatch writing to Delta table {table_path}: the DataFrame has {'; '.join(details)}"
        )
    for name, new_field in new_fields.items():
        old_type, new_type = table_fields[name]["type"], new_field["type"]
        if _type_signature(old_type) != _type_signature(new_type):
            raise DeltaBridgeError(
                f"schema mismatch writing to Delta table {table_path}: column {name!r} is "
                f"{_type_text(new_type)} in the DataFrame but {_type_text(old_type)} in the table"
            )


# --- reading ---------------------------------------------------------------------------------------------------


def _refuse_column_mapping(dt: DeltaTable, table_path: str) -> None:
    mapping = dt.metadata().configuration.get("delta.columnMapping.mode") or "none"
    if "columnMapping" in set(dt.protocol().reader_features or []) or mapping != "none":
        raise DeltaBridgeError(f"Delta table {table_path} uses column mapping, which the Spark bridge does not support")


def _refuse_unreadable(dt: DeltaTable, table_path: str) -> None:
    _refuse_column_mapping(dt, table_path)
    if "deletionVectors" in set(dt.protocol().reader_features or []) and any(
        batch.num_rows for batch in dt.deletion_vectors()
    ):
        raise DeltaBridgeError(
            f"Delta table {table_path} has deletion vectors; Spark would read deleted rows. "
            "read it with delta-rs or DuckDB instead"
        )


def _check_hive_layout(table_path: str, files: Iterable[str], partition_columns: list[str]) -> None:
    root = Path(table_path)
    for file in files:
        parts = Path(file).relative_to(root).parts[:-1]
        keys = [part.split("=", 1)[0] for part in parts]
        if keys != partition_columns:
            layout = "/".join(f"{c}=..." for c in partition_columns)
            raise DeltaBridgeError(
                f"Delta table {table_path}: file {file} is not under {layout}; "
                "Spark needs Hive-style partition folders to recover partition values"
            )


def read_delta(spark: SparkSession, table_path: str | os.PathLike, version: int | None = None) -> DataFrame:
    """Read a Delta table (optionally at ``version``) as a Spark DataFrame with the Delta schema's columns and types.

    Partition values come from the Hive folder names, typed by the Delta schema. Tables with deletion vectors or
    column mapping are refused with :class:`DeltaBridgeError`.
    """
    path = str(Path(table_path).resolve())
    dt = DeltaTable(path, version=version)
    _refuse_unreadable(dt, path)
    schema = spark_schema_from_delta(dt.schema())
    files = dt.file_uris()
    if not files:
        return spark.createDataFrame([], schema)
    partition_columns = dt.metadata().partition_columns
    if partition_columns:
        _check_hive_layout(path, files, partition_columns)
    df = spark.read.schema(schema).option("basePath", path).parquet(*files)
    return df.select(*[F.col("`" + name.replace("`", "``") + "`") for name in schema.fieldNames()])


# --- writing ---------------------------------------------------------------------------------------------------


@dataclass
class _WrittenFile:
    relative_path: str
    partition_values: dict[str, str | None]
    size: int
    num_rows: int
    stats: dict


def _stat_value(value: Any, delta_type: Any, is_max: bool) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value) if delta_type.startswith("decimal(") and int(delta_type[8:].split(",")[0]) <= 15 else None
    if isinstance(value, datetime):
        if delta_type != "timestamp":
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        millis = value.replace(microsecond=value.microsecond // 1000 * 1000)
        if is_max and millis != value:
            millis += timedelta(milliseconds=1)
        return millis.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        if len(value) <= _STRING_STAT_CHARS:
            return value
        return None if is_max else value[:_STRING_STAT_CHARS]
    return None


def _footer_stats(path: Path, column_types: Mapping[str, Any]) -> tuple[int, dict]:
    """numRecords, minValues, maxValues and nullCount of top-level primitive columns, from the Parquet footer."""
    meta = pq.read_metadata(path)
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    leaves = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    for name, delta_type in column_types.items():
        index = leaves.get(name)
        if index is None or not isinstance(delta_type, str) or delta_type == "binary":
            continue
        col_min = col_max = None
        null_count: int | None = 0
        exact = True
        for rg in range(meta.num_row_groups):
            stats = meta.row_group(rg).column(index).statistics
            if stats is None:
                null_count, exact = None, False
                break
            if null_count is not None:
                null_count = null_count + stats.null_count if stats.has_null_count else None
            if meta.row_group(rg).num_rows == stats.null_count:
                continue
            if not stats.has_min_max:
                exact = False
                continue
            col_min = stats.min if col_min is None or stats.min < col_min else col_min
            col_max = stats.max if col_max is None or stats.max > col_max else col_max
        if null_count is not None:
            nulls[name] = null_count
        if exact and col_min is not None:
            low, high = _stat_value(col_min, delta_type, False), _stat_value(col_max, delta_type, True)
            if low is not None and high is not None:
                mins[name], maxs[name] = low, high
    stats = {"numRecords": meta.num_rows, "minValues": mins, "maxValues": maxs, "nullCount": nulls}
    return meta.num_rows, stats


def _partition_values(relative: Path, partition_columns: list[str], types: Mapping[str, Any]) -> dict[str, str | None]:
    folders = relative.parts[:-1]
    keys = [folder.split("=", 1)[0] for folder in folders]
    if keys != partition_columns:
        raise DeltaBridgeError(f"Spark wrote {relative} outside the expected partition folders {partition_columns}")
    values: dict[str, str | None] = {}
    for folder in folders:
        key, raw = folder.split("=", 1)
        text = None if raw == HIVE_NULL else unquote(raw)
        values[key] = _delta_partition_text(_typed_partition_value(text, types[key]))
    return values


def _typed_partition_value(text: str | None, delta_type: str) -> Any:
    """A partition value as delta-rs's ``get_add_actions`` types it, so values from both sides compare."""
    if text is None:
        return None
    if delta_type in ("byte", "short", "integer", "long"):
        return int(text)
    if delta_type in ("float", "double"):
        return float(text)
    if delta_type == "boolean":
        return text.lower() == "true"
    if delta_type == "date":
        return date.fromisoformat(text)
    if delta_type == "timestamp":
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    if delta_type == "timestamp_ntz":
        return datetime.fromisoformat(text)
    if delta_type.startswith("decimal("):
        return Decimal(text)
    return text


def _delta_partition_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _delta_partition_values(row: Mapping[str, Any], types: Mapping[str, str]) -> dict[str, str | None]:
    return {c: _delta_partition_text(row[f"partition.{c}"]) for c in types if f"partition.{c}" in row}


def _collect_written(staging: Path, partition_columns: list[str], schema: DeltaSchema) -> list[_WrittenFile]:
    column_types = {f["name"]: f["type"] for f in json.loads(schema.to_json())["fields"]}
    data_types = {k: v for k, v in column_types.items() if k not in partition_columns}
    files = []
    for folder, dirnames, filenames in os.walk(staging):
        dirnames[:] = [d for d in dirnames if not d.startswith(("_", "."))]
        files += [Path(folder) / n for n in filenames if n.endswith(".parquet") and not n.startswith(("_", "."))]

    def describe(file: Path) -> _WrittenFile:
        num_rows, stats = _footer_stats(file, data_types)
        relative = file.relative_to(staging)
        values = _partition_values(relative, partition_columns, column_types) if num_rows else {}
        return _WrittenFile(relative.as_posix(), values, file.stat().st_size, num_rows, stats)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(describe, sorted(files)))


def _check_constraints(spark: SparkSession, staging: Path, table: DeltaTable, table_path: str) -> None:
    """Enforce the table's CHECK constraints on the staged files (delta-rs does not check files it is handed)."""
    prefix = "delta.constraints."
    constraints = {k[len(prefix) :]: v for k, v in table.metadata().configuration.items() if k.startswith(prefix)}
    if not constraints:
        return
    staged = spark.read.schema(spark_schema_from_delta(table.schema())).option("basePath", str(staging))
    frame = staged.parquet(str(staging))
    for name, expression in constraints.items():
        if frame.filter(f"NOT ({expression})").limit(1).count():
            raise DeltaBridgeError(f"Delta table {table_path}: rows violate CHECK constraint {name} ({expression})")


def _registered(table_path: str, absolute_paths: Iterable[str]) -> bool:
    try:
        live = set(DeltaTable(table_path).file_uris())
    except Exception:
        return False
    return any(p in live for p in absolute_paths)


def write_delta(
    df: DataFrame,
    table_path: str | os.PathLike,
    mode: Literal["append", "overwrite"] = "append",
    partition_by: list[str] | str | None = None,
    overwrite_partitions: bool = False,
    custom_metadata: Mapping[str, Any] | None = None,
) -> int:
    """Write ``df`` to the Delta table at ``table_path`` (created if missing) and return the committed version.

    Executors write Parquet; the driver commits the files with delta-rs in one transaction.

    - ``mode="append"``: add the rows.
    - ``mode="overwrite"``: replace the whole table's contents.
    - ``mode="overwrite", overwrite_partitions=True``: replace only the partitions present in ``df``.

    An existing table keeps its schema and partitioning: a DataFrame whose columns or types differ raises
    :class:`DeltaBridgeError` naming the table and the column. Files of a failed write are never committed.
    """
    if mode not in ("append", "overwrite"):
        raise ValueError(f"mode must be 'append' or 'overwrite', not {mode!r}")
    if overwrite_partitions and mode != "overwrite":
        raise ValueError("overwrite_partitions=True needs mode='overwrite'")
    path = str(Path(table_path).resolve())
    requested = [partition_by] if isinstance(partition_by, str) else list(partition_by or [])
    new_schema = delta_schema_from_spark(df.schema)

    table = DeltaTable(path) if DeltaTable.is_deltatable(path) else None
    if table is not None:
        _refuse_column_mapping(table, path)
        partition_columns = table.metadata().partition_columns
        if requested and requested != partition_columns:
            raise DeltaBridgeError(f"Delta table {path} is partitioned by {partition_columns}, not {requested}")
        _check_compatible(path, table.schema(), new_schema)
        schema = table.schema()
    else:
        partition_columns, schema = requested, new_schema
    missing = [c for c in partition_columns if c not in df.columns]
    if missing:
        raise DeltaBridgeError(f"partition column(s) {missing} of Delta table {path} are not in the DataFrame")
    if overwrite_partitions and not partition_columns:
        raise DeltaBridgeError(f"overwrite_partitions=True needs a partitioned table; {path} is not partitioned")

    staging = Path(path) / f"{_STAGING_PREFIX}{uuid.uuid4().hex}"
    created_root = not Path(path).exists()
    moved: list[Path] = []
    try:
        writer = df.write.mode("errorifexists")
        if partition_columns:
            writer = writer.partitionBy(*partition_columns)
        writer.parquet(str(staging))
        if table is not None:
            _check_constraints(df.sparkSession, staging, table, path)
        written = _collect_written(staging, partition_columns, schema)
        actions = []
        for item in written:
            source = staging / item.relative_path
            if not item.num_rows:
                source.unlink()
                continue
            target = Path(path) / item.relative_path
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                raise DeltaBridgeError(f"refusing to overwrite existing file {target}")
            source.rename(target)
            moved.append(target)
            actions.append(
                AddAction(
                    path=item.relative_path,
                    size=item.size,
                    partition_values=item.partition_values,
                    modification_time=int(target.stat().st_mtime * 1000),
                    data_change=True,
                    stats=json.dumps(item.stats),
                )
            )
        version = _commit(path, table, schema, partition_columns, actions, mode, overwrite_partitions, custom_metadata)
    except BaseException:
        if moved and not _registered(path, map(str, moved)):
            for file in moved:
                file.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created_root and not DeltaTable.is_deltatable(path):
            shutil.rmtree(path, ignore_errors=True)
    log.info("committed %d file(s) to %s at version %d (%s)", len(moved), path, version, mode)
    return version


def _commit(
    path: str,
    table: DeltaTable | None,
    schema: DeltaSchema,
    partition_columns: list[str],
    actions: list[AddAction],
    mode: str,
    overwrite_partitions: bool,
    custom_metadata: Mapping[str, Any] | None,
) -> int:
    properties = CommitProperties(custom_metadata={"engine": "spark", **(custom_metadata or {})})
    if table is None:
        create_table_with_add_actions(
            path, schema, actions, mode="error", partition_by=partition_columns or None, commit_properties=properties
        )
        return DeltaTable(path).version()
    if overwrite_partitions:
        if not actions:
            return table.version()
        types = {f["name"]: f["type"] for f in json.loads(schema.to_json())["fields"]}
        touched = {
            tuple(_typed_partition_value(a.partition_values.get(c), types[c]) for c in partition_columns)
            for a in actions
        }
        now_ms = int(time.time() * 1000)
        removes = [
            RemoveAction(unquote(row["path"]), True, now_ms, row["size_bytes"], _delta_partition_values(row, types))
            for row in pa.table(table.get_add_actions(flatten=True)).to_pylist()
            if tuple(row[f"partition.{c}"] for c in partition_columns) in touched
        ]
        table.create_write_transaction(
            [*actions, *removes], "append", schema, partition_columns, commit_properties=properties
        )
    else:
        table.create_write_transaction(
            list[AddAction | RemoveAction](actions), mode, schema, partition_columns, commit_properties=properties
        )
    return DeltaTable(path).version()
