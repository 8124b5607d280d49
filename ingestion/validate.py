"""Vectorised contract validation with polars.

:func:`validate` takes the reader's frame (source columns as parsed, plus ``_file``, ``_line`` and ``_raw``)
and splits it into accepted rows, typed and normalised for bronze, and rejected rows, each with the first
rule it broke and a readable reason. No Python loop runs per record.

Schema drift is judged per file: a source column the contract does not know is *additive* drift (kept as
JSON in ``_extra`` and recorded); a required source column absent from a whole file is *breaking* drift
(every record of that file is rejected under ``drift:<field>``, naming the unknown columns it did find).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl

from ingestion.contracts import Contract, Field, polars_type

LINEAGE = ("_file", "_line", "_raw")


@dataclass
class Validated:
    accepted: pl.DataFrame
    rejected: pl.DataFrame
    additive_drift: dict[str, list[str]] = field(default_factory=dict)  # file -> new columns
    breaking_drift: dict[str, list[str]] = field(default_factory=dict)  # file -> missing required fields


def hash_id(value: str, salt: str) -> str:
    """Salted hash of one source id: SHA-256 of ``salt|id``, first 16 hex digits (stable everywhere)."""
    return hashlib.sha256(f"{salt}|{value}".encode()).hexdigest()[:16]


def salted_hash(series: pl.Series, salt: str) -> pl.Series:
    """:func:`hash_id` over a column, computed once per distinct id (the same function for orders'
    customer ids and clickstream user ids, so they join)."""
    text = series.cast(pl.String)
    distinct = text.drop_nulls().unique()
    mapping = dict(zip(distinct.to_list(), [hash_id(v, salt) for v in distinct.to_list()], strict=True))
    return text.replace_strict(mapping, default=None, return_dtype=pl.String)


def _json_text(col: pl.Expr, source_dtype: pl.DataType) -> pl.Expr:
    """A nested value (list/struct) as JSON text; scalars as text."""
    if not source_dtype.is_nested():
        return col.cast(pl.String)
    return pl.struct(col.alias("v")).struct.json_encode().str.strip_prefix('{"v":').str.strip_suffix("}")


def _parse(f: Field, col: pl.Expr, source_dtype: pl.DataType) -> pl.Expr:
    """Typed value of ``col`` (null when it does not parse)."""
    target = polars_type(f.type)
    if f.type == "json":
        return _json_text(col, source_dtype)
    if source_dtype.is_nested():
        return pl.lit(None, dtype=target)  # a list/struct where a scalar belongs: a type error
    text = col.cast(pl.String).str.strip_chars()
    if f.upper:
        text = text.str.to_uppercase()
    if f.parse == "micros":
        return (text.cast(pl.Int64, strict=False).cast(pl.Float64) / 1_000_000).cast(target, strict=False)
    if f.parse == "decimal_comma":
        text = text.str.replace_all(r"\.", "").str.replace(",", ".", literal=True)
    if f.parse == "percent":
        return (text.str.strip_suffix("%").cast(pl.Float64, strict=False) / 100).cast(target, strict=False)
    if f.parse == "date_dmy":
        return text.str.to_date(format="%d.%m.%Y", strict=False)
    if f.type == "timestamp":
        if source_dtype.is_numeric():  # epoch numbers where the contract wants ISO 8601: a type error
            return pl.lit(None, dtype=target)
        iso = text.str.replace(r"Z$", "+00:00").str.replace(" ", "T", literal=True)
        with_offset = iso.str.to_datetime(
            format="%Y-%m-%dT%H:%M:%S%.f%:z", time_zone="UTC", time_unit="us", strict=False
        )
        naive = iso.str.to_datetime(format="%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=False).dt.replace_time_zone(
            "UTC"
        )
        return pl.coalesce(with_offset, naive)
    if f.type == "date":
        return pl.when(text.str.len_chars() >= 10).then(
            text.str.slice(0, 10).str.to_date(format="%Y-%m-%d", strict=False)
        )
    if f.type == "bool":
        lowered = text.str.to_lowercase()
        return (
            pl.when(lowered.is_in(["true", "1", "yes", "y"]))
            .then(True)
            .when(lowered.is_in(["false", "0", "no", "n"]))
            .then(False)
            .otherwise(None)
        )
    if f.type == "string":
        return text
    if f.type.startswith("decimal"):
        return text.cast(pl.Float64, strict=False).round(target.scale).cast(target, strict=False)  # type: ignore[attr-defined]
    return text.cast(target, strict=False)


def _offset(col: pl.Expr) -> pl.Expr:
    """The original UTC offset of an ISO timestamp string (``+08:00``, ``Z`` -> ``+00:00``)."""
    return col.cast(pl.String).str.extract(r"(Z|[+-]\d{2}:?\d{2})$", 1).str.replace("^Z$", "+00:00")


def validate(
    contract: Contract,
    raw: pl.DataFrame,
    as_of: datetime,
    salt: str = "",
) -> Validated:
    """Apply ``contract`` to ``raw``: returns typed accepted rows and rejected rows with rule and reason."""
    known = {f.src for f in contract.fields}
    present = set(raw.columns) - set(LINEAGE)
    new_columns = sorted(present - known)
    raw = raw.with_columns(
        [pl.lit(None, dtype=pl.String).alias(f.src) for f in contract.fields if f.src not in present]
    )

    out = Validated(accepted=pl.DataFrame(), rejected=pl.DataFrame())
    # Drift per file: which known columns are entirely absent in a file, which unknown ones appear.
    per_file = raw.group_by("_file").agg(
        [pl.col(c).is_not_null().any().alias(c) for c in sorted(known | set(new_columns))]
    )
    breaking_rule = pl.lit(None, dtype=pl.String)
    breaking_reason = pl.lit(None, dtype=pl.String)
    for row in per_file.iter_rows(named=True):
        file = row["_file"]
        missing = [f for f in contract.fields if f.required and not row[f.src]]
        unknown = [c for c in new_columns if row[c]]
        if unknown:
            out.additive_drift[file] = unknown
        if missing:
            out.breaking_drift[file] = [f.src for f in missing]
            reason = f"breaking schema drift: required field '{missing[0].src}' absent from the whole file" + (
                f"; unknown field(s) present: {', '.join(unknown)} (renamed?)" if unknown else ""
            )
            in_file = pl.col("_file") == file
            breaking_rule = pl.when(in_file).then(pl.lit(f"drift:{missing[0].name}")).otherwise(breaking_rule)
            breaking_reason = pl.when(in_file).then(pl.lit(reason)).otherwise(breaking_reason)

    typed: list[pl.Expr] = []
    checks: list[tuple[pl.Expr, str, pl.Expr]] = []  # (failed?, rule, reason)
    horizon = as_of + timedelta(hours=contract.future_tolerance_hours)
    for f in contract.fields:
        col = pl.col(f.src)
        value = _parse(f, col, raw.schema[f.src]).alias(f.name)
        typed.append(value)
        shown = _json_text(col, raw.schema[f.src]).fill_null("null")
        if f.required:
            checks.append((col.is_null(), f"required:{f.name}", pl.lit(f"missing required field '{f.src}'")))
        checks.append(
            (
                col.is_not_null() & value.is_null(),
                f"type:{f.name}",
                pl.format("'{}' = '{}' is not a valid {}", pl.lit(f.src), shown, pl.lit(f.type)),
            )
        )
        if f.min is not None:
            checks.append(
                (
                    value < f.min,
                    f"range:{f.name}",
                    pl.format("'{}' = {} is below the minimum {}", pl.lit(f.src), shown, pl.lit(f.min)),
                )
            )
        if f.max is not None:
            checks.append(
                (
                    value > f.max,
                    f"range:{f.name}",
                    pl.format("'{}' = {} is above the maximum {}", pl.lit(f.src), shown, pl.lit(f.max)),
                )
            )
        if f.accepted:
            checks.append(
                (
                    value.is_not_null() & ~value.is_in(list(f.accepted)),
                    f"accepted:{f.name}",
                    pl.format("'{}' = '{}' is not an accepted value", pl.lit(f.src), value),
                )
            )
        if f.pattern:
            checks.append(
                (
                    value.is_not_null() & ~value.str.contains(f.pattern),
                    f"pattern:{f.name}",
                    pl.format("'{}' = '{}' does not match {}", pl.lit(f.src), value, pl.lit(f.pattern)),
                )
            )
        for key, type_name, required in f.items:
            element = pl.element().struct.field(key)
            parsed = _parse(Field(key, type_name), element, pl.String())
            bad = element.is_null() if required else pl.lit(False)
            bad = bad | (element.is_not_null() & parsed.is_null())
            checks.append(
                (
                    col.list.eval(bad).list.any(),
                    f"type:{f.name}.{key}",
                    pl.format(
                        "'{}[].{}' has a missing or invalid {} value in {}",
                        pl.lit(f.src),
                        pl.lit(key),
                        pl.lit(type_name),
                        shown,
                    ),
                )
            )
        if f.name == contract.event_time:
            comparable = value.cast(pl.Datetime("us", "UTC")) if f.type == "date" else value
            checks.append(
                (
                    comparable > pl.lit(horizon),
                    f"future:{f.name}",
                    pl.format("'{}' = {} is after the as-of time {}", pl.lit(f.src), shown, pl.lit(as_of.isoformat())),
                )
            )

    # the first failing check in contract order names the record's rule
    rule_chain = pl.when(breaking_rule.is_not_null()).then(breaking_rule)
    reason_chain = pl.when(breaking_rule.is_not_null()).then(breaking_reason)
    for failed, name, why in checks:
        rule_chain = rule_chain.when(failed.fill_null(False)).then(pl.lit(name))
        reason_chain = reason_chain.when(failed.fill_null(False)).then(why)
    rule = rule_chain.otherwise(pl.lit(None, dtype=pl.String))
    reason = reason_chain.otherwise(pl.lit(None, dtype=pl.String))

    offsets = [_offset(pl.col(f.src)).alias(f"{f.name}_offset") for f in contract.fields if f.keep_offset]
    frame = raw.with_columns(rule.alias("_rule"))  # reasons are formatted for rejected rows only
    good = frame.filter(pl.col("_rule").is_null())
    hashed = [
        salted_hash(good[contract.field(src).src].cast(pl.String), salt).alias(dst) for src, dst in contract.hash_fields
    ]
    drift_cols = [pl.col(c).alias(f"__new__{c}") for c in new_columns]
    accepted = good.select(
        [*typed, *offsets, *drift_cols, pl.col("_file").alias("_source_file"), pl.col("_line").alias("_source_line")]
    ).with_columns(hashed)
    # _extra: fields the table has no column for (normalised tables) and additive drift, as JSON
    extra = [pl.col(n) for n in contract.folded_fields] + [pl.col(f"__new__{c}").alias(c) for c in new_columns]
    if extra:
        has_extra = pl.any_horizontal([e.is_not_null() for e in extra])
        encoded = pl.struct(extra).struct.json_encode()
        accepted = accepted.with_columns(pl.when(has_extra).then(encoded).otherwise(None).alias("_extra"))
        accepted = accepted.drop([*contract.folded_fields, *(f"__new__{c}" for c in new_columns)])
    else:
        accepted = accepted.with_columns(pl.lit(None, dtype=pl.String).alias("_extra"))
    if contract.event_time:
        event = pl.col(contract.event_time)
        accepted = accepted.with_columns(
            (event if contract.field(contract.event_time).type == "date" else event.dt.date()).alias("event_date")
        )
    if contract.constants:
        accepted = accepted.with_columns([pl.lit(v).alias(c) for c, v in contract.constants])
    if contract.snapshot:
        accepted = accepted.with_columns(
            pl.col("_source_file").str.extract(r"dt=(\d{4}-\d{2}-\d{2})", 1).str.to_date().alias("snapshot_date")
        )
    out.accepted = accepted
    out.rejected = (
        frame.filter(pl.col("_rule").is_not_null())
        .with_columns(reason.alias("_reason"))
        .select(
            pl.col("_file").alias("source_file"),
            pl.col("_line").cast(pl.Int64).alias("source_line"),
            pl.col("_rule").alias("rule"),
            pl.col("_reason").alias("reason"),
            pl.col("_raw").alias("raw_record"),
        )
    )
    return out
