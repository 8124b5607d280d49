"""Declarative feed contracts: what a landing record must look like to enter bronze.

A :class:`Contract` lists the fields of one source format with their types, required flags, ranges,
accepted values and PII marks, the primary key and the event-time field. Validation
(:mod:`ingestion.validate`) applies it to a whole batch at once with polars; every broken rule has a
name (``<rule>:<field>``) that the quarantine and the ledger use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import polars as pl
import pyarrow as pa

_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
SCALAR_TYPES = ("string", "int", "float", "bool", "date", "timestamp", "json")


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
    description: str = ""

    def __post_init__(self) -> None:
        polars_type(self.type)  # validates the type name

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
            shown = ", ".join(self.accepted[:8]) + (" ..." if len(self.accepted) > 8 else "")
            out.append(f"in {{{shown}}}")
        if self.pattern:
            out.append(f"matches `{self.pattern}`")
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
    restricted_key: tuple[str, ...] = ()  # columns copied into the restricted PII table with the PII fields
    tags: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"contract {self.feed}: duplicate field names")
        for key in self.primary_key:
            if key not in names and key not in {h for _, h in self.hash_fields}:
                raise ValueError(f"contract {self.feed}: primary key {key!r} is not a field")
        if self.event_time and self.event_time not in names:
            raise ValueError(f"contract {self.feed}: event_time {self.event_time!r} is not a field")

    @property
    def table(self) -> str:
        return self.feed

    @property
    def pii_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.pii)

    @property
    def restricted_table(self) -> str | None:
        return f"{self.feed}_pii" if self.pii_fields else None

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)
