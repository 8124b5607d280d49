"""What a quality run found: one :class:`CheckResult` per expectation, gathered in a :class:`CheckReport`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class CheckResult:
    """One expectation's outcome. ``observed`` is the worst value seen (or a reason), ``details`` a few
    failing rows as text."""

    table: str
    expectation: str
    severity: str  # 'error' | 'warn'
    success: bool
    observed: str | float | int
    details: str = ""
    threshold: str = ""
    failing_rows: int = 0
    checked_rows: int = 0
    description: str = ""


@dataclass
class CheckReport:
    layer: str
    run_id: str
    checked_at: datetime
    window: str
    results: list[CheckResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    data_docs: str | None = None

    @property
    def errors(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success and r.severity == "error"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success and r.severity == "warn"]

    @property
    def ok(self) -> bool:
        """No error-severity failure (warnings are reported, they do not block)."""
        return not self.errors

    def render(self, show_passed: bool = False, width: int = 60) -> str:
        """A readable summary: the failures (errors first), or every result with ``show_passed``."""
        status = "PASSED" if self.ok else "FAILED"
        passed = sum(r.success for r in self.results)
        lines = [
            f"quality check {self.layer}: {status} — {len(self.errors)} error(s), {len(self.warnings)} warning(s), "
            f"{passed} of {len(self.results)} table checks passed",
            f"run {self.run_id} at {self.checked_at:%Y-%m-%d %H:%M:%S} UTC, window {self.window}",
        ]
        rows = [r for r in self.results if show_passed or not r.success]
        rows.sort(key=lambda r: (r.success, r.severity != "error", r.table, r.expectation))
        if rows:
            header = ("severity", "table", "expectation", "threshold", "observed", "failing rows")
            table = [header] + [
                (
                    ("ok" if r.success else r.severity.upper()),
                    r.table,
                    r.expectation,
                    r.threshold,
                    _fmt(r.observed),
                    (f"{r.failing_rows}/{r.checked_rows}: " if not r.success else "") + _clip(r.details, width),
                )
                for r in rows
            ]
            widths = [max(len(str(row[i])) for row in table) for i in range(len(header) - 1)]
            for row in table:
                cells = [str(c).ljust(widths[i]) for i, c in enumerate(row[:-1])]
                lines.append("  ".join([*cells, str(row[-1])]).rstrip())
        if self.data_docs:
            lines.append(f"data docs: {self.data_docs}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "layer": self.layer,
            "run_id": self.run_id,
            "checked_at": self.checked_at.isoformat(),
            "window": self.window,
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "results": [asdict(r) for r in self.results],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "data_docs": self.data_docs,
        }


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
