"""Declarative feed contracts: what a landing record must look like to enter bronze.

A :class:`Contract` lists the fields of one source format with their types, required flags, ranges,
accepted values and PII marks, the primary key and the event-time field. Validation
(:mod:`ingestion.validate`) applies it to a whole batch at once with polars; every broken rule has a
name (``<rule>:<field>``) that the quarantine and the ledger use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl
import pyarrow as pa

_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
SCALAR_TYPES = ("string", "int", "float", "bool", "date", "timestamp", "json")
PARSERS = {
    "micros": "source in micro-units (divided by 1,000,000)",
    "decimal_comma": "decimal comma in the source (12,34)",
    "date_dmy": "source date as DD.MM.YYYY",
    "percent": "source as a percentage string (1.23%) -> fraction",
}


def polars_type(type_name: str) -> pl.DataType:
    match = _DECIMAL.match(type_name)
    if match:
        return pl.Decimal(int(match.group(1)), int(match.group(2)))
    mapping: dict[str, pl.DataType] = {
        "string": pl.String(),
        "json": pl.String(),
        "int": pl.Int64(),
        "float": pl.Float64(),
        "bool": pl.Boolean(),
        "date": pl.Date(),
        "timestamp": pl.Datetime("us", "UTC"),
    }
    if type_name not in mapping:
        raise ValueError(f"unknown contract type {type_name!r}; use one of {SCALAR_TYPES} or decimal(p,s)")
    return mapping[type_name]


def arrow_type(type_name: str) -> pa.DataType:
    match = _DECIMAL.match(type_name)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    return {
        "string": pa.string(),
        "json": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }[type_name]


@dataclass(frozen=True)
class Field:
    """One bronze column and the rules its source value must satisfy."""

    name: str
    type: str = "string"
    source: str | None = None  # column in the reader's frame; default: ``name``
    required: bool = False
    min: float | None = None
    max: float | None = None
    accepted: tuple[str, ...] | None = None
    pattern: str | None = None
    upper: bool = False  # normalise to upper case before checking (currency codes, countries)
    pii: bool = False  # raw PII: goes only to the restricted table
    keep_offset: bool = False  # timestamps: also keep the original UTC offset as ``<name>_offset``
    parse: str | None = None  # a source convention: micros, decimal_comma, date_dmy, percent
    items: tuple[tuple[str, str, bool], ...] = ()  # json arrays of objects: (key, type, required) per element
    description: str = ""

    def __post_init__(self) -> None:
        polars_type(self.type)  # validates the type name
        if self.parse is not None and self.parse not in PARSERS:
            raise ValueError(f"field {self.name}: unknown parse {self.parse!r}; use one of {sorted(PARSERS)}")

    @property
    def src(self) -> str:
        return self.source or self.name

    def rules(self) -> list[str]:
        """Human-readable rules for the generated docs."""
        out = []
        if self.required:
            out.append("required")
        if self.min is not None:
            out.append(f">= {self.min:g}")
        if self.max is not None:
            out.append(f"<= {self.max:g}")
        if self.accepted:
            shown = ", ".join(self.accepted)
            out.append(f"in {{{shown}}}")
        if self.pattern:
            out.append(f"matches `{self.pattern}`")
        if self.parse:
            out.append(PARSERS[self.parse])
        for key, type_name, required in self.items:
            out.append(f"each element: `{key}` {type_name}{' required' if required else ''}")
        if self.pii:
            out.append("PII (restricted table)")
        return out


@dataclass(frozen=True)
class Contract:
    """The contract of one landing feed, and the bronze table it loads."""

    feed: str
    version: int
    description: str
    format: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]
    event_time: str | None = None
    partition_by: tuple[str, ...] = ()
    future_tolerance_hours: float = 1.0
    hash_fields: tuple[tuple[str, str], ...] = ()  # (source field, hashed column) pairs: salted customer ids
    bronze_table: str | None = None  # several source shapes may load one normalised table
    table_columns: tuple[str, ...] | None = None  # the normalised columns; other fields are kept in ``_extra``
    constants: tuple[tuple[str, str], ...] = ()  # columns with a fixed value for this source (platform=meta)
    snapshot: bool = False  # reference snapshots: ``snapshot_date`` from the file's dt= partition joins the key
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"contract {self.feed}: duplicate field names")
        derived = {h for _, h in self.hash_fields} | {c for c, _ in self.constants} | {"snapshot_date", "event_date"}
        for key in self.primary_key:
            if key not in names and key not in derived:
                raise ValueError(f"contract {self.feed}: primary key {key!r} is not a field")
        if self.event_time and self.event_time not in names:
            raise ValueError(f"contract {self.feed}: event_time {self.event_time!r} is not a field")

    @property
    def table(self) -> str:
        return self.bronze_table or self.feed

    @property
    def folded_fields(self) -> tuple[str, ...]:
        """Fields of this source that the normalised table has no column for (stored in ``_extra``)."""
        if self.table_columns is None:
            return ()
        return tuple(f.name for f in self.fields if f.name not in self.table_columns and not f.pii)

    @property
    def pii_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.pii)

    @property
    def restricted_table(self) -> str | None:
        return f"{self.table}_pii" if self.pii_fields else None

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)
