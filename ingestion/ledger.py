"""The ingest ledger (``lake/_ledger/ingest_files``): one row per landing file the loaders saw.

A file whose checksum the ledger already holds as ingested is skipped; the same content under another
path is a duplicate file. Each row satisfies ``rows_read = accepted + quarantined + duplicates``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa

from lakehouse import delta
from lakehouse.settings import Settings

TABLE = "ingest_files"

SCHEMA = pa.schema(
    [
        pa.field("file_path", pa.string(), nullable=False),
        pa.field("feed", pa.string(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("size_bytes", pa.int64()),
        pa.field("rows_read", pa.int64()),
        pa.field("accepted", pa.int64()),
        pa.field("quarantined", pa.int64()),
        pa.field("duplicates", pa.int64()),
        pa.field("flagged", pa.int64()),
        pa.field("status", pa.string(), nullable=False),  # ingested | duplicate_file | failed
        pa.field("error", pa.string()),
        pa.field("drift", pa.string()),
        pa.field("contract_version", pa.int64()),
        pa.field("run_id", pa.string()),
        pa.field("batch_id", pa.string()),
        pa.field("started_at", pa.timestamp("us", tz="UTC")),
        pa.field("finished_at", pa.timestamp("us", tz="UTC")),
        pa.field("read_seconds", pa.float64()),
        pa.field("delta_versions", pa.string()),
    ]
)


@dataclass
class FileEntry:
    file_path: str
    feed: str
    sha256: str
    size_bytes: int
    rows_read: int = 0
    accepted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    flagged: int = 0
    status: str = "ingested"
    error: str | None = None
    drift: str | None = None
    contract_version: int | None = None
    run_id: str | None = None
    batch_id: str | None = None
    started_at: object = None
    finished_at: object = None
    read_seconds: float = 0.0
    delta_versions: str | None = None
    extra: dict = field(default_factory=dict, repr=False)

    def conserved(self) -> bool:
        return self.status == "failed" or self.rows_read == self.accepted + self.quarantined + self.duplicates


def path(settings: Settings) -> Path:
    return settings.paths.table("_ledger", TABLE)


def known_files(settings: Settings, feed: str) -> tuple[dict[str, set[str]], set[str]]:
    """(sha256 -> paths under which ``feed`` ingested that content, paths recorded as duplicate files).

    Only ingested content makes a later file a duplicate: a duplicate-file row never stands in for the
    original (after a crash the original may not be ingested yet)."""
    table_path = path(settings)
    if not delta.table_exists(table_path):
        return {}, set()
    rows = delta.read_arrow(
        table_path,
        columns=["sha256", "file_path", "status"],
        filters=[("feed", "=", feed)],
    ).to_pylist()
    ingested: dict[str, set[str]] = {}
    duplicates: set[str] = set()
    for r in rows:
        if r["status"] == "ingested":
            ingested.setdefault(r["sha256"], set()).add(r["file_path"])
        elif r["status"] == "duplicate_file":
            duplicates.add(r["file_path"])
    return ingested, duplicates


def record(settings: Settings, entries: list[FileEntry]) -> int:
    """Append ledger rows (one commit); returns the ledger's new version."""
    if not entries:
        return delta.version(path(settings)) if delta.table_exists(path(settings)) else -1
    rows = [{k: v for k, v in asdict(e).items() if k != "extra"} for e in entries]
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    delta.create_table(path(settings), SCHEMA, partition_by=["feed"], description="one row per landing file seen")
    return delta.write(path(settings), table, metadata={"writer": "ingest-ledger"}).version
