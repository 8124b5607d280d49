"""dbt-duckdb plugin: the delta extension for sources, and Delta commits for silver models.

DuckDB cannot write Delta reliably, so the ``delta`` materialization (``dbt_project/macros/delta.sql``)
hands the model's compiled SQL to :meth:`Plugin.store`, which runs it on the dbt connection and commits
the Arrow result through delta-rs (``lakehouse.delta``): a full overwrite (schema replaced when the model
changed) or, for incremental models, a replacement of the rows from ``window_start`` on. The model's
relation in DuckDB is then a view over ``delta_scan`` of the committed table, so downstream models, the
Spark jobs and engineers all read the same Delta table.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from dbt.adapters.duckdb.utils import TargetConfig

from lakehouse import delta
from lakehouse.duck import delta_extension_path


class DeltaModelError(RuntimeError):
    """A silver model could not be committed to its Delta table."""


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._conn = None

    def configure_connection(self, conn) -> None:
        conn.execute(f"LOAD '{delta_extension_path()}'")
        self._conn = conn

    def store(self, target_config: TargetConfig) -> None:
        options = dict(target_config.config)
        path = target_config.location.path if target_config.location else options["path"]
        model = str(target_config.relation)
        if self._conn is None:
            raise DeltaModelError(f"{model}: the dbt connection was not configured by the delta_lake plugin")
        cursor = self._conn.cursor()
        try:
            data = cursor.execute(options["sql"]).fetch_arrow_table()
        finally:
            cursor.close()
        partition_by = options.get("partition_by") or None
        if isinstance(partition_by, str):
            partition_by = [partition_by]
        metadata = {"writer": "dbt", "model": model, "invocation_id": options.get("invocation_id", "")}
        window_start = options.get("window_start")
        unique_key = options.get("unique_key") or None
        if isinstance(unique_key, str):
            unique_key = [unique_key]
        try:
            if window_start and unique_key and delta.table_exists(path):
                # rows of the window may replace rows dated before it (an order updated weeks after creation)
                delta.merge(path, data, unique_key, when_matched="update", metadata=metadata)
            elif window_start and delta.table_exists(path):
                column = options["window_column"]
                delta.write(
                    path,
                    data,
                    mode="overwrite",
                    predicate=f"{column} >= '{window_start}'",
                    metadata=metadata,
                )
            else:
                delta.write(
                    path, data, mode="overwrite", partition_by=partition_by, metadata=metadata, replace_schema=True
                )
        except delta.DeltaIOError as exc:
            raise DeltaModelError(f"{model}: committing {data.num_rows} rows to {path} failed: {exc}") from exc
