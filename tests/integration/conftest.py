"""Fixtures for integration tests: one Spark session for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.settings import get_settings


@pytest.fixture(scope="session")
def spark(lakehouse_home: Path) -> Iterator:
    """A local[2] Spark session built by the project's session factory, stopped at the end of the run."""
    from lakehouse.spark import get_spark, stop_spark

    session = get_spark(
        "lakehouse-tests",
        master="local[2]",
        settings=get_settings(),
        conf={"spark.sql.shuffle.partitions": 2, "spark.driver.memory": "2g"},
    )
    yield session
    stop_spark()


@pytest.fixture(scope="session")
def airflow_db(lakehouse_home: Path) -> Iterator[dict]:
    """Airflow in unit-test mode with its own fresh metadata DB under the session's LAKEHOUSE_HOME.

    The environment must be in place before the first ``import airflow`` of the session.
    """
    import os

    from lakehouse.airflow_env import airflow_env

    env = airflow_env(get_settings(), unit_test=True)
    os.environ.update(env)
    from airflow.utils import db

    db.resetdb()
    yield env
