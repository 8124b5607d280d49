"""DuckDB for engineers: ``lakehouse sql`` (one query, table/CSV/JSON/Parquet out) and ``lakehouse shell``
(a small REPL). Both use :func:`lakehouse.duck.connect`: the published marts attached read-only and the lake
tables as ``bronze.orders``-style views; restricted PII tables only when asked.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import duckdb
from rich.console import Console
from rich.markup import escape
from rich.table import Table

FORMATS = ("table", "csv", "json", "parquet")
TABLE_MAX_ROWS = 1000

HELP = """\
Statements end with `;` (they may span lines). Dot commands:
  .tables            list the warehouse models and lake tables
  .schema NAME       columns and types of a table or view
  .mode FORMAT       output as table (default), csv or json
  .help              this text
  .quit / .exit      leave (Ctrl-D works too)
Unqualified names resolve to the marts (`fct_orders`), then other warehouse schemas (`staging.stg_bronze__orders`);
lake tables are `bronze.orders`, `silver.sessions`..."""


class QueryError(RuntimeError):
    """A statement failed; the message is DuckDB's."""


def _display(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return format(value, ".10g")
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, UUID):
        return str(value)
    return str(value)


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, default=_jsonable)
    return value


def statements(con: duckdb.DuckDBPyConnection, text: str) -> list[str]:
    """Split ``text`` into statements with DuckDB's own parser (semicolons in strings are safe)."""
    try:
        return [s.query for s in con.extract_statements(text)]
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from None


def execute(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyRelation | None:
    """Run one statement; a relation for statements that return rows, None for the others."""
    try:
        return con.sql(sql)
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from None


def result_table(relation: duckdb.DuckDBPyRelation, max_rows: int = TABLE_MAX_ROWS) -> tuple[Table, str]:
    """A rich table of the first ``max_rows`` rows and a footer line (row count)."""
    try:
        rows = relation.fetchmany(max_rows + 1)
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from None
    table = Table(*relation.columns, box=None, header_style="bold")
    for row in rows[:max_rows]:
        table.add_row(*(_display(v) for v in row))
    if len(rows) > max_rows:
        footer = f"(first {max_rows} rows shown; use --format csv or --output for all of them)"
    else:
        footer = f"({len(rows)} row{'s' if len(rows) != 1 else ''})"
    return table, footer


def _all_rows(relation: duckdb.DuckDBPyRelation) -> list[tuple]:
    try:
        return relation.fetchall()
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from None


def write_csv(relation: duckdb.DuckDBPyRelation, out: IO[str]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(relation.columns)
    rows = _all_rows(relation)
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    return len(rows)


def write_json(relation: duckdb.DuckDBPyRelation, out: IO[str]) -> int:
    """A JSON array of objects, one row per line."""
    columns = relation.columns
    rows = _all_rows(relation)
    out.write("[")
    for i, row in enumerate(rows):
        out.write(("," if i else "") + "\n  " + json.dumps(dict(zip(columns, row, strict=True)), default=_jsonable))
    out.write("\n]\n" if rows else "]\n")
    return len(rows)


def write_parquet(relation: duckdb.DuckDBPyRelation, output: Path) -> int:
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        relation.write_parquet(str(output))
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from None
    import pyarrow.parquet as pq

    return pq.read_metadata(output).num_rows


def emit(
    relation: duckdb.DuckDBPyRelation, fmt: str, console: Console, output: Path | None = None
) -> tuple[int | None, str]:
    """Write a result in ``fmt`` to ``output`` (or stdout); returns (rows written, a note for the user)."""
    if fmt == "parquet":
        if output is None:
            raise ValueError("--format parquet needs --output FILE")
        rows = write_parquet(relation, output)
        return rows, f"wrote {rows:,} rows to {output}"
    if fmt == "table":
        table, footer = result_table(relation)
        if output is not None:
            with open(output, "w") as fh:
                Console(file=fh, width=200, highlight=False).print(table)
        else:
            console.print(table)
        return None, footer
    writer = write_csv if fmt == "csv" else write_json
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        with open(output, "w", newline="") as fh:
            rows = writer(relation, fh)
        return rows, f"wrote {rows:,} rows to {output}"
    rows = writer(relation, sys.stdout)
    sys.stdout.flush()
    return rows, ""


def catalog(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """``(name as you type it, kind, where)`` for every warehouse relation and lake view."""
    found = con.execute(
        """
        select database_name, schema_name, table_name, 'table' from duckdb_tables() where not internal
        union all
        select database_name, schema_name, view_name, 'view' from duckdb_views() where not internal
        """
    ).fetchall()
    out = []
    for database, schema, name, kind in sorted(found):
        if database == "warehouse":
            out.append((name if schema == "main" else f"{schema}.{name}", kind, "warehouse"))
        elif database == "memory":
            out.append((f"{schema}.{name}" if schema != "main" else name, "Delta" if kind == "view" else kind, "lake"))
    return out


class Shell:
    """A line-oriented DuckDB prompt; reads piped stdin too (no prompts then)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, console: Console, err: Console, history: Path | None = None):
        self.con = con
        self.console = console
        self.err = err
        self.mode = "table"
        self.errors = 0
        self.history = history
        self.interactive = False

    def run(self, stream: IO[str] | None = None, interactive: bool | None = None) -> int:
        """Read statements until `.quit` or end of input; returns the number of statements that failed."""
        stream = stream or sys.stdin
        interactive = stream.isatty() if interactive is None else interactive
        self.interactive = interactive
        if interactive:
            self._setup_readline()
            self.console.print("[dim]DuckDB over the published warehouse and the lake. .help for help.[/dim]")
        buffer: list[str] = []
        lines = self._lines(stream, interactive, buffer)
        for line in lines:
            if not buffer and line.strip().startswith("."):
                if not self.dot_command(line.strip()):
                    break
                continue
            if not buffer and not line.strip():
                continue
            buffer.append(line)
            text = "".join(buffer).strip()
            if text.endswith(";"):
                buffer.clear()
                self.run_sql(text)
        if buffer and "".join(buffer).strip():
            self.run_sql("".join(buffer))
        if interactive:
            self._save_history()
        return self.errors

    def _lines(self, stream: IO[str], interactive: bool, buffer: list[str]) -> Iterator[str]:
        if not interactive:
            # not `yield from stream`: closing this generator (on .quit) would close the stream
            yield from iter(stream.readline, "")
            return
        while True:
            try:
                yield input("      ...> " if buffer else "lakehouse> ") + "\n"
            except KeyboardInterrupt:
                buffer.clear()
                self.console.print()
            except EOFError:
                self.console.print()
                return

    def _setup_readline(self) -> None:
        try:
            import readline
        except ImportError:  # pragma: no cover - readline ships with CPython on Linux
            return
        if self.history is not None and self.history.exists():
            readline.read_history_file(str(self.history))

    def _save_history(self) -> None:
        try:
            import readline
        except ImportError:  # pragma: no cover
            return
        if self.history is not None:
            self.history.parent.mkdir(parents=True, exist_ok=True)
            readline.set_history_length(2000)
            readline.write_history_file(str(self.history))

    def dot_command(self, line: str) -> bool:
        """Handle a dot command; False means quit."""
        command, _, arg = line.partition(" ")
        arg = arg.strip().rstrip(";")
        if command in (".quit", ".exit", ".q"):
            return False
        if command == ".help":
            self.console.print(HELP, markup=False)
        elif command == ".tables":
            table = Table("name", "kind", "where", box=None, header_style="bold")
            for row in catalog(self.con):
                table.add_row(*row)
            self.console.print(table)
        elif command == ".schema" and arg:
            self.run_sql(f"describe {arg}")
        elif command == ".mode" and arg in ("table", "csv", "json"):
            self.mode = arg
        else:
            self.errors += 1
            self.err.print(f"[red]unknown or incomplete command:[/red] {line} (try .help)")
        return True

    def run_sql(self, text: str) -> None:
        try:
            for statement in statements(self.con, text):
                relation = execute(self.con, statement)
                if relation is None:
                    self.console.print("[dim]OK[/dim]")
                    continue
                _, note = emit(relation, self.mode, self.console)
                if note:
                    self.console.print(f"[dim]{note}[/dim]")
        except QueryError as exc:
            self.errors += 1
            self.err.print(f"[red]Error:[/red] {escape(str(exc))}")


def run_statements(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyRelation | None:
    """Run every statement of ``sql``; the last one's result (what ``lakehouse sql`` prints)."""
    relation = None
    parts: Sequence[str] = statements(con, sql)
    if not parts:
        raise QueryError("no SQL statement given")
    for statement in parts:
        relation = execute(con, statement)
    return relation
