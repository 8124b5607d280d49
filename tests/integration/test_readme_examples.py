"""The README's warehouse examples run as written on tiny data: every `lakehouse sql` line of its bash blocks
and every Python block that uses `from lakehouse import connect`."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
pytestmark = pytest.mark.integration

_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks(language: str) -> list[str]:
    return [body for lang, body in _BLOCK.findall(README.read_text()) if lang == language]


SQL_COMMANDS = [
    line.strip()
    for block in _blocks("bash")
    for line in block.splitlines()
    if line.strip().startswith("lakehouse sql ")
]
PYTHON_EXAMPLES = [block for block in _blocks("python") if "from lakehouse import connect" in block]


def test_readme_has_the_examples():
    assert len(SQL_COMMANDS) >= 4 and any("--format parquet" in c for c in SQL_COMMANDS)
    assert any("kpi_daily" in block for block in PYTHON_EXAMPLES)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.mark.parametrize("command", SQL_COMMANDS, ids=lambda c: c[14:60])
def test_sql_example_runs(command, tiny_warehouse, tmp_path):
    argv = shlex.split(command, comments=True)
    done = subprocess.run(
        [sys.executable, "-m", "lakehouse", *argv[1:]],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    if "--output" in argv:
        written = tmp_path / argv[argv.index("--output") + 1]
        assert written.stat().st_size > 0
    else:
        assert done.stdout.strip(), f"{command} printed nothing"
        assert "(0 rows)" not in done.stdout and done.stdout.strip() not in ("[]", "[\n]")


@pytest.mark.parametrize("example", PYTHON_EXAMPLES, ids=lambda e: f"python-{len(e)}")
def test_python_example_runs(example, tiny_warehouse, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", example], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{example}\n{done.stderr}"
