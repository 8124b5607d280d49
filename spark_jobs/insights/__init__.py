"""Seller insights: per-seller weekly and monthly scorecards, peer benchmarks, health score, alerts, GMV drivers
and rule-based recommendations, written to ``lake/gold`` (see :mod:`spark_jobs.insights.job`)."""

from spark_jobs.insights.job import GOLD_TABLES, run

__all__ = ["GOLD_TABLES", "run"]
