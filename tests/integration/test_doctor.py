"""`lakehouse doctor` passes on a prepared machine (CI runs it after `make setup`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_doctor_all_pass(lakehouse_home):
    lakehouse = Path(sys.executable).parent / "lakehouse"
    out = subprocess.run([str(lakehouse), "doctor"], capture_output=True, text=True, cwd=REPO, timeout=300)
    lines = [line for line in out.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert out.returncode == 0, out.stdout + out.stderr
    assert len(lines) >= 10 and all(line.startswith("PASS") for line in lines), out.stdout
    names = " ".join(lines)
    for check in ("java", "main environment", "superset environment", "duckdb delta", "spark session", "ports"):
        assert check in names


@pytest.mark.integration
def test_doctor_fails_with_hint_on_bad_java(lakehouse_home, tmp_path):
    fake = tmp_path / "jdk" / "bin"
    fake.mkdir(parents=True)
    (fake / "java").write_text("#!/bin/sh\necho 'openjdk version \"11.0.1\"' >&2\n")
    (fake / "java").chmod(0o755)
    lakehouse = Path(sys.executable).parent / "lakehouse"
    env = {"PATH": "/usr/bin:/bin", "LAKEHOUSE_HOME": str(lakehouse_home), "JAVA_HOME": str(tmp_path / "jdk")}
    out = subprocess.run(
        [str(lakehouse), "doctor", "--skip", "spark"], capture_output=True, text=True, cwd=REPO, env=env, timeout=120
    )
    assert out.returncode == 1
    assert "FAIL java" in out.stdout and "fix: Spark 4 needs Java 17" in out.stdout
