"""Quality gates: Great Expectations suites for the feeds (bronze), silver and the marts.

    from expectations import run_checks
    report = run_checks("bronze")          # or "silver", "marts" (the build copy before publish)
    if not report.ok:
        print(report.render())

Importing this package is cheap: DuckDB and Great Expectations load when checks run. See README.md.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CheckReport",
    "CheckResult",
    "QualityError",
    "data_docs_index",
    "register",
    "run_checks",
]


def __getattr__(name: str) -> Any:
    if name in ("CheckReport", "CheckResult"):
        from expectations import report

        return getattr(report, name)
    if name in ("run_checks", "data_docs_index", "QualityError"):
        from expectations import runner

        return getattr(runner, name)
    if name == "register":
        from expectations.checks import register

        return register
    raise AttributeError(name)
