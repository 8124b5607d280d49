"""``lakehouse attribution --paths``: attribute a marketing tool's aggregated path table without Spark.

The table is a delimited text file with a header and the columns ``path`` (``"a > b > c"``),
``total_conversions``, ``total_conversion_value`` and ``total_null`` (extra columns are ignored). The output
folder receives ``attribution.csv`` (``model,channel,conversions,revenue``), ``removal_effects.csv`` and
``transitions.csv`` (one block per Markov order).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from spark_jobs.attribution.models import (
    DEFAULT_POSITION_WEIGHTS,
    MAX_ORDER,
    EncodedPaths,
    PathAttribution,
    PathError,
    attribute_all,
    encode_paths,
)

# path-table column -> journey-table column of spark_jobs.attribution.models
PATH_TABLE_COLUMNS = {
    "path": "path",
    "total_conversions": "conversions",
    "total_conversion_value": "revenue",
    "total_null": "nulls",
}
OUTPUT_FILES = ("attribution.csv", "removal_effects.csv", "transitions.csv")


class PathTableError(ValueError):
    """A path table that cannot be attributed; the message names the file, line, column and rule."""


@dataclass
class PathTableRun:
    attribution: PathAttribution
    rows: int
    conversions: float
    revenue: float
    nulls: float
    files: list[Path]
    seconds: float


def read_path_table(file: Path, sep: str = ",") -> EncodedPaths:
    """Read, validate and encode a path table as a journey table (``path, conversions, revenue, nulls``).

    Line numbers in errors are the file's (the header is line 1). A UTF-8 byte-order mark is accepted.
    """
    file = Path(file)
    if len(sep) != 1:
        raise PathTableError(f"--sep must be one character, got {sep!r}")
    if not file.is_file():
        raise PathTableError(f"{file}: no such file")
    try:
        raw = pd.read_csv(
            file,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
            quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise PathTableError(f"{file}: not a readable {sep!r}-delimited UTF-8 table: {exc}") from None
    except pd.errors.EmptyDataError:
        raise PathTableError(f"{file}: empty file (expected a header: {', '.join(PATH_TABLE_COLUMNS)})") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in PATH_TABLE_COLUMNS if c not in raw.columns]
    if missing:
        hint = ""
        if len(raw.columns) == 1:
            hint = f"; only one column was found with delimiter {sep!r}: is --sep right?"
        raise PathTableError(
            f"{file}: missing column(s) {', '.join(missing)} (header has: {', '.join(raw.columns)}){hint}"
        )
    if raw.empty:
        raise PathTableError(f"{file}: no rows after the header")
    try:
        return encode_paths(raw[list(PATH_TABLE_COLUMNS)].rename(columns=PATH_TABLE_COLUMNS))
    except PathError as exc:
        column = next((k for k, v in PATH_TABLE_COLUMNS.items() if v == exc.column), exc.column)
        where = f"line {exc.row + 2}" if exc.row is not None else "table"
        raise PathTableError(f"{file}: {where}, column {column}: {exc.message} [rule: {exc.rule}]") from None


def run_path_table(
    file: Path,
    out: Path,
    sep: str = ",",
    order: int = MAX_ORDER,
    direct_channel: str = "direct",
    position_weights: Sequence[float] = DEFAULT_POSITION_WEIGHTS,
) -> PathTableRun:
    """Attribute ``file`` with every model (Markov orders 1..``order``) and write the three CSVs into ``out``."""
    if not 1 <= order <= MAX_ORDER:
        raise PathTableError(f"--order must be 1 to {MAX_ORDER}, got {order}")
    started = time.perf_counter()
    encoded = read_path_table(file, sep)
    if encoded.conversions.sum() <= 0:
        raise PathTableError(f"{file}: no conversions in total_conversions: nothing to attribute")
    try:
        result = attribute_all(
            encoded, orders=range(1, order + 1), direct_channel=direct_channel, position_weights=position_weights
        )
    except PathError as exc:
        raise PathTableError(f"{file}: {exc.message}") from None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames = (result.attribution, result.removal_effects(), result.transitions())
    files = []
    for name, frame in zip(OUTPUT_FILES, frames, strict=True):
        path = out / name
        frame.to_csv(path, index=False, float_format="%.10g")
        files.append(path)
    return PathTableRun(
        attribution=result,
        rows=encoded.n_paths,
        conversions=float(encoded.conversions.sum()),
        revenue=float(encoded.revenue.sum()),
        nulls=float(encoded.nulls.sum()),
        files=files,
        seconds=time.perf_counter() - started,
    )


def summary_frame(run: PathTableRun) -> pd.DataFrame:
    """Conversions per channel (rows) and model (columns), for the command's printout."""
    table = run.attribution.attribution.pivot(index="channel", columns="model", values="conversions")
    return table[list(dict.fromkeys(run.attribution.attribution["model"]))]
