"""Demand forecasting and inventory alerts: the ``forecast`` gold job (``python -m spark_jobs.forecast``,
``lakehouse forecast``). See docs/forecasting.md for the method.

- :mod:`spark_jobs.forecast.config`: horizon, backtest windows, model menus per demand class, inventory policy;
- :mod:`spark_jobs.forecast.engine`: one batch of series in pandas + statsforecast (what each Spark task runs);
- :mod:`spark_jobs.forecast.inventory`: safety stock, reorder point, days of cover, stockout date, alerts;
- :mod:`spark_jobs.forecast.job`: the Spark application (read silver, fan out, reconcile, write gold).
"""

from __future__ import annotations

from typing import Any


def run(settings: Any = None, *, echo: bool = True, master: str | None = None, **options: Any) -> dict:
    """The gold job's entry point (see :func:`spark_jobs.forecast.job.run`)."""
    from spark_jobs.forecast.job import run as run_job

    return run_job(settings, echo=echo, master=master, **options)
