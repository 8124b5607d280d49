"""Readers: one landing file -> a polars frame of source columns plus ``_file``, ``_line`` and ``_raw``.

Every reader returns the records it could parse and, separately, the ones it could not (``malformed``),
so that nothing read is dropped. The fast path parses a whole file at once; only a file that fails it
is re-read line by line to find the bad lines.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

_LINE = pl.Int64


class UnreadableFileError(RuntimeError):
    """The file itself cannot be read (corrupt gzip, bad encoding): recorded as a failed file."""


@dataclass
class ReadResult:
    records: pl.DataFrame
    malformed: pl.DataFrame  # source_line, reason, raw_record
    rows_read: int


_MALFORMED_SCHEMA = {"source_line": pl.Int64, "reason": pl.String, "raw_record": pl.String}


def _empty_malformed() -> pl.DataFrame:
    return pl.DataFrame(schema=_MALFORMED_SCHEMA)


def _malformed(bad: list[tuple[int, str, str]]) -> pl.DataFrame:
    """Unparseable records as (line, raw text, reason) -> the malformed frame."""
    return pl.DataFrame(
        {"source_line": [b[0] for b in bad], "reason": [b[2] for b in bad], "raw_record": [b[1] for b in bad]},
        schema=_MALFORMED_SCHEMA,
    )


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
        return gzip.decompress(data) if path.suffix == ".gz" else data
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UnreadableFileError(f"{path.name}: cannot read ({type(exc).__name__}: {exc})") from None


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(f"{path.name}: not UTF-8 ({exc})") from None


def flatten(frame: pl.DataFrame) -> pl.DataFrame:
    """Unnest struct columns one level into ``parent.child`` columns (lists stay as they are)."""
    structs = [c for c, t in frame.schema.items() if isinstance(t, pl.Struct)]
    for name in structs:
        inner = frame[name].struct.unnest()
        inner = inner.rename({c: f"{name}.{c}" for c in inner.columns})
        frame = frame.drop(name).hstack(inner)
    return frame


def _with_lineage(frame: pl.DataFrame, file: str, lines: list[int], raw: list[str]) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(file).alias("_file"),
        pl.Series("_line", lines, dtype=_LINE),
        pl.Series("_raw", raw, dtype=pl.String),
    )


def read_json_lines(path: Path, name: str) -> ReadResult:
    """gzip JSON Lines / NDJSON: one object per line."""
    text = _decode(path, _read_bytes(path))
    lines = text.split("\n")
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        return ReadResult(pl.DataFrame(), _empty_malformed(), 0)
    try:
        body = "\n".join(line for _, line in numbered).encode()
        frame = pl.read_ndjson(io.BytesIO(body), infer_schema_length=None)
        good = numbered
        bad: list[tuple[int, str, str]] = []
    except Exception:  # a malformed line somewhere: find it, keep the rest
        good, bad = [], []
        for number, line in numbered:
            try:
                value = json.loads(line)
                if not isinstance(value, dict):
                    raise ValueError("not a JSON object")
                good.append((number, line))
            except ValueError as exc:
                bad.append((number, line, f"malformed JSON: {exc}"))
        body = "\n".join(line for _, line in good).encode()
        frame = pl.read_ndjson(io.BytesIO(body), infer_schema_length=None) if good else pl.DataFrame()
    records = (
        _with_lineage(flatten(frame), name, [n for n, _ in good], [line for _, line in good])
        if good
        else pl.DataFrame()
    )
    malformed = _malformed(bad)
    return ReadResult(records, malformed, len(numbered))


def read_json_array(path: Path, name: str) -> ReadResult:
    """A JSON array of objects (carrier tracking batches). A file that is not valid JSON is unreadable."""
    text = _decode(path, _read_bytes(path))
    try:
        items = json.loads(text)
    except ValueError as exc:
        raise UnreadableFileError(f"{path.name}: not valid JSON ({exc})") from None
    if isinstance(items, dict):  # {"events": [...]} envelopes
        lists = [v for v in items.values() if isinstance(v, list)]
        items = lists[0] if len(lists) == 1 else items
    if not isinstance(items, list):
        raise UnreadableFileError(f"{path.name}: expected a JSON array of objects")
    good = [(i + 1, item) for i, item in enumerate(items) if isinstance(item, dict)]
    bad = [(i + 1, json.dumps(item), "not a JSON object") for i, item in enumerate(items) if not isinstance(item, dict)]
    frame = pl.from_dicts([g for _, g in good], infer_schema_length=None) if good else pl.DataFrame()
    records = (
        _with_lineage(flatten(frame), name, [n for n, _ in good], [json.dumps(g, ensure_ascii=False) for _, g in good])
        if good
        else pl.DataFrame()
    )
    malformed = _malformed(bad)
    return ReadResult(records, malformed, len(items))


def read_csv(
    path: Path, name: str, delimiter: str = ",", skip_lines: int = 0, comment: str | None = None
) -> ReadResult:
    """A CSV export: every value read as text (the contract types it). ``_line`` is the 1-based file line;
    ``_raw`` is the row as a JSON object of header -> value, so a quarantined row can be replayed.

    ``skip_lines`` drops report preambles (title rows before the header); rows with the wrong number of
    fields are malformed.
    """
    text = _decode(path, _read_bytes(path))
    lines = text.splitlines()
    body = lines[skip_lines:]
    if comment:
        body = [line for line in body if not line.startswith(comment)]
    if not body:
        return ReadResult(pl.DataFrame(), _empty_malformed(), 0)
    rows = list(csv.reader(body, delimiter=delimiter))
    header = [h.strip() for h in rows[0]]
    good_rows, lines_no, raw, bad = [], [], [], []
    for offset, row in enumerate(rows[1:], start=skip_lines + 2):
        if not row or all(not v.strip() for v in row):
            continue
        if len(row) != len(header):
            bad.append((offset, delimiter.join(row), f"malformed CSV row: {len(row)} fields, header has {len(header)}"))
            continue
        good_rows.append(row)
        lines_no.append(offset)
        raw.append(json.dumps(dict(zip(header, row, strict=True)), ensure_ascii=False))
    frame = pl.DataFrame(
        {h: [r[i] or None for r in good_rows] for i, h in enumerate(header)}, schema={h: pl.String for h in header}
    )  # an empty cell is a missing value
    malformed = _malformed(bad)
    records = _with_lineage(frame, name, lines_no, raw) if good_rows else pl.DataFrame()
    return ReadResult(records, malformed, len(good_rows) + len(bad))


@dataclass
class BatchRead:
    """Records of several files parsed together; per-file counts and failures for the ledger."""

    records: pl.DataFrame
    malformed: pl.DataFrame  # source_file, source_line, reason, raw_record
    rows_read: dict[str, int]
    failures: dict[str, str]


def read_json_lines_batch(files: list[tuple[Path, str]]) -> BatchRead:
    """JSON Lines of many files parsed in one pass.

    Lines that are not ``{...}`` are checked one by one (``json.loads``); all others are parsed together by
    polars. If that still fails, each file falls back to :func:`read_json_lines`.
    """
    names: list[str] = []
    numbers: list[int] = []
    lines: list[str] = []
    rows_read: dict[str, int] = {}
    failures: dict[str, str] = {}
    for path, name in files:
        try:
            text = _decode(path, _read_bytes(path))
        except UnreadableFileError as exc:
            failures[name] = str(exc)
            continue
        numbered = [(i + 1, line) for i, line in enumerate(text.split("\n")) if line.strip()]
        rows_read[name] = len(numbered)
        names += [name] * len(numbered)
        numbers += [n for n, _ in numbered]
        lines += [line for _, line in numbered]
    frame = pl.DataFrame(
        {"_file": names, "_line": numbers, "_raw": lines},
        schema={"_file": pl.String, "_line": pl.Int64, "_raw": pl.String},
    )
    trimmed = pl.col("_raw").str.strip_chars()
    shaped = frame.select((trimmed.str.starts_with("{") & trimmed.str.ends_with("}")).alias("ok"))["ok"]
    suspicious = frame.filter(~shaped)
    bad = []
    rescued = []
    for row in suspicious.iter_rows(named=True):
        try:
            value = json.loads(row["_raw"])
            if not isinstance(value, dict):
                raise ValueError("not a JSON object")
            rescued.append(row)
        except ValueError as exc:
            bad.append((row["_file"], row["_line"], row["_raw"], f"malformed JSON: {exc}"))
    good = frame.filter(shaped)
    if rescued:
        good = pl.concat([good, pl.DataFrame(rescued, schema=frame.schema)])
    try:
        body = "\n".join(good["_raw"].to_list()).encode()
        parsed = pl.read_ndjson(io.BytesIO(body), infer_schema_length=None) if good.height else pl.DataFrame()
    except Exception:  # a malformation the shape check missed: per file, line by line where needed
        return _per_file(files, failures)
    records = flatten(parsed).hstack(good) if good.height else pl.DataFrame()
    malformed = pl.DataFrame(
        {
            "source_file": [b[0] for b in bad],
            "source_line": [b[1] for b in bad],
            "reason": [b[3] for b in bad],
            "raw_record": [b[2] for b in bad],
        },
        schema={"source_file": pl.String, **_MALFORMED_SCHEMA},
    )
    return BatchRead(records, malformed, rows_read, failures)


def _per_file(files: list[tuple[Path, str]], failures: dict[str, str]) -> BatchRead:
    frames, malformed, rows_read = [], [], {}
    for path, name in files:
        if name in failures:
            continue
        result = read_json_lines(path, name)
        rows_read[name] = result.rows_read
        if result.records.height:
            frames.append(result.records)
        if result.malformed.height:
            malformed.append(result.malformed.with_columns(pl.lit(name).alias("source_file")))
    return BatchRead(
        pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame(),
        pl.concat(malformed, how="diagonal_relaxed").select("source_file", *_MALFORMED_SCHEMA)
        if malformed
        else pl.DataFrame(schema={"source_file": pl.String, **_MALFORMED_SCHEMA}),
        rows_read,
        failures,
    )
