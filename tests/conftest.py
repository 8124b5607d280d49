"""Shared fixtures: every test session gets its own LAKEHOUSE_HOME and a pinned clock."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.settings import Settings, get_settings, reset_settings

AS_OF = "2026-06-30T12:00:00+00:00"


@pytest.fixture(scope="session", autouse=True)
def lakehouse_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point LAKEHOUSE_HOME at a temp dir and pin the as-of time for the whole session."""
    home = tmp_path_factory.mktemp("lakehouse_home")
    saved = {k: os.environ.get(k) for k in ("LAKEHOUSE_HOME", "LAKEHOUSE_AS_OF")}
    os.environ["LAKEHOUSE_HOME"] = str(home)
    os.environ["LAKEHOUSE_AS_OF"] = AS_OF
    reset_settings()
    get_settings().paths.ensure()
    yield home
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_settings()


@pytest.fixture
def settings(lakehouse_home: Path) -> Settings:
    return get_settings()


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (tests never use the demo's 8080/8088)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def tiny_landing(lakehouse_home: Path) -> Path:
    """The simulator's tiny world in the session's landing zone (generated once per test session)."""
    from simulator import generate

    landing = get_settings().paths.landing
    if not (landing / "_simulator" / "ground_truth.json").exists():
        generate(landing, scale="tiny", seed=42)
    return landing


@pytest.fixture(scope="session")
def tiny_bronze(tiny_landing: Path):
    """The tiny world ingested into bronze once per session; returns the ingest summaries."""
    from ingestion.run import ingest

    return {s.feed: s for s in ingest()}


@pytest.fixture(scope="session")
def tiny_warehouse(tiny_bronze) -> Path:
    """The tiny world built by dbt (every layer, tests included) and published, once per session: returns the
    published warehouse file, as readers see it (open it read-only)."""
    from lakehouse import warehouse

    settings = get_settings()
    if not settings.paths.warehouse_file.exists():
        try:
            warehouse.build("all", settings=settings, echo=False)
        except warehouse.DbtError as exc:
            pytest.fail(f"dbt build failed on tiny data: {exc}", pytrace=False)
        warehouse.publish(settings=settings)
    return settings.paths.warehouse_file
