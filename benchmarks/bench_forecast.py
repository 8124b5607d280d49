"""The forecast job: scale (10,000 series x 2 years, 30-day horizon, 3-window backtest on local[2]) against
statsforecast run directly on pandas frames with the same models in the same run, and accuracy on the demo world
(chosen models vs seasonal naive MASE, interval coverage and an accuracy table by demand class).

``BENCH_FORECAST_SERIES`` overrides the series count of the scale entry (default 10000)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from benchmarks.harness import BenchContext, Result, benchmark, shared_landing
from spark_jobs.forecast import engine
from spark_jobs.forecast.config import BENCHMARK_MODEL, ForecastConfig

DAYS = 730
START = date(2024, 1, 1)


def synthetic_demand(landing, n_series: int, seed: int = 42) -> pd.DataFrame:
    """Daily units for ``n_series`` series drawn like the simulator draws them: negative binomial counts around
    base means and dispersions sampled from the simulated world's demand_params.parquet, with its day-of-week
    multipliers (no stockouts, no events)."""
    sim = landing / "_simulator"
    params = pd.read_parquet(sim / "demand_params.parquet")
    params = params[params.base_mean_units_per_day > 0]
    dow = np.array(json.loads((sim / "ground_truth.json").read_text())["demand"]["day_of_week_multiplier"])
    rng = np.random.default_rng(seed)
    pick = params.sample(n_series, replace=len(params) < n_series, random_state=seed)
    days = np.array([START + timedelta(days=i) for i in range(DAYS + 30)])
    weekday = np.array([d.weekday() for d in days[:DAYS]])
    lam = pick.base_mean_units_per_day.to_numpy()[:, None] * dow[weekday][None, :]
    k = pick.nb_dispersion_k.to_numpy()[:, None]
    y = rng.negative_binomial(k, k / (k + lam)).astype(float)
    ids = np.array([f"S{i:05d}" for i in range(n_series)])
    history = pd.DataFrame(
        {
            "series_id": np.repeat(ids, DAYS),
            "ds": np.tile(days[:DAYS], n_series),
            "y": y.ravel(),
            "is_stockout": False,
            "multiplier": 1.0,
            "is_future": False,
        }
    )
    future = pd.DataFrame(
        {
            "series_id": np.repeat(ids, 30),
            "ds": np.tile(days[DAYS:], n_series),
            "y": np.nan,
            "is_stockout": False,
            "multiplier": 1.0,
            "is_future": True,
        }
    )
    return pd.concat([history, future], ignore_index=True)


def statsforecast_direct(frame: pd.DataFrame, cfg: ForecastConfig) -> float:
    """The same work with statsforecast's own API on pandas frames (one per demand class, that class's menu plus
    the seasonal naive benchmark, both cores): cross_validation (3 x 30 days) + forecast with 80/95% levels."""
    from statsforecast import StatsForecast

    started = time.perf_counter()
    hist = frame[~frame.is_future].rename(columns={"series_id": "unique_id"})[["unique_id", "ds", "y"]]
    hist["ds"] = pd.to_datetime(hist["ds"])
    classes = {sid: engine.classify(g.y.to_numpy())[0] for sid, g in hist.groupby("unique_id")}
    hist["demand_class"] = hist.unique_id.map(classes)
    for demand_class, part in hist.groupby("demand_class"):
        names = list(dict.fromkeys([*cfg.menu_for(str(demand_class)), BENCHMARK_MODEL]))
        models = [engine.make_model(n, cfg, DAYS) for n in names]
        for model, name in zip(models, names, strict=True):
            model.alias = name
        sf = StatsForecast(models=models, freq="D", n_jobs=2)
        data = part.drop(columns="demand_class")
        sf.cross_validation(df=data, h=cfg.horizon, n_windows=cfg.windows, step_size=cfg.horizon)
        sf.forecast(df=data, h=cfg.horizon)
    return time.perf_counter() - started


@benchmark
def forecast_scale(ctx: BenchContext) -> list[Result]:
    from lakehouse.spark import get_spark
    from spark_jobs.forecast.job import run_forecasts

    n_series = int(os.environ.get("BENCH_FORECAST_SERIES", "10000"))
    cfg = ForecastConfig()
    frame = synthetic_demand(shared_landing(ctx), n_series)
    spark = get_spark("bench-forecast", master="local[2]", settings=ctx.settings)
    n_batches = max(1, -(-n_series // cfg.batch_size))
    sdf = spark.createDataFrame(frame.assign(batch=frame.series_id.str[1:].astype(int) % n_batches))
    sdf = sdf.repartition(n_batches, "batch").cache()
    sdf.count()
    started = time.perf_counter()
    out = run_forecasts(sdf, cfg).cache()
    rows = out.count()
    spark_seconds = time.perf_counter() - started
    classes = out.where("kind = 'choice'").groupBy("demand_class").count().toPandas()
    out.unpersist()
    sdf.unpersist()
    direct_seconds = statsforecast_direct(frame, cfg)
    extra = {
        "series": n_series,
        "rows": rows,
        "classes": dict(zip(classes.demand_class, classes["count"], strict=True)),
    }
    return [
        Result(
            "forecast_job_seconds",
            spark_seconds,
            "s",
            goal="<= 600 s for 10,000 series",
            passed=spark_seconds <= 600 if n_series >= 10_000 else None,
            extra=extra,
        ),
        Result(
            "forecast_overhead_vs_statsforecast",
            spark_seconds,
            "s",
            baseline="statsforecast on pandas frames, same models",
            baseline_value=direct_seconds,
            goal="ratio <= 1.3",
            passed=spark_seconds / direct_seconds <= 1.3,
            extra=extra,
        ),
    ]


def accuracy_table(backtest: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """By demand class: series, mean MASE of the chosen models and of seasonal naive, improvement, sMAPE, bias,
    80/95% coverage of the chosen models; and an honest variant choosing on windows 1..n-1, scoring on window n."""
    chosen = backtest[backtest.is_chosen]
    naive = backtest[backtest.model == BENCHMARK_MODEL]
    per_series = (
        chosen.groupby(["sku", "market_code"])
        .agg(mase=("mase", "mean"), smape=("smape", "mean"), bias=("bias", "mean"), c80=("coverage80", "mean"))
        .join(chosen.groupby(["sku", "market_code"]).coverage95.mean().rename("c95"))
        .join(naive.groupby(["sku", "market_code"]).mase.mean().rename("naive_mase"))
        .join(models.set_index(["sku", "market_code"]).demand_class)
    )
    last = backtest.window.max()
    early = backtest[(backtest.window < last) & (backtest.model != BENCHMARK_MODEL)]
    pick = early.groupby(["sku", "market_code", "model"]).mase.mean().reset_index()
    pick = pick.sort_values(["sku", "market_code", "mase", "model"]).drop_duplicates(["sku", "market_code"])
    holdout = backtest[backtest.window == last].merge(pick[["sku", "market_code", "model"]])
    per_series = per_series.join(holdout.set_index(["sku", "market_code"]).mase.rename("holdout_mase"))
    per_series = per_series.join(
        backtest[(backtest.window == last) & (backtest.model == BENCHMARK_MODEL)]
        .set_index(["sku", "market_code"])
        .mase.rename("holdout_naive_mase")
    )
    per_series = per_series.dropna(subset=["mase", "naive_mase"])
    table = per_series.groupby("demand_class").agg(
        series=("mase", "size"),
        mase=("mase", "mean"),
        seasonal_naive_mase=("naive_mase", "mean"),
        smape=("smape", "mean"),
        bias=("bias", "mean"),
        coverage80=("c80", "mean"),
        coverage95=("c95", "mean"),
        holdout_mase=("holdout_mase", "mean"),
        holdout_naive_mase=("holdout_naive_mase", "mean"),
    )
    table.loc["portfolio"] = [
        len(per_series),
        per_series.mase.mean(),
        per_series.naive_mase.mean(),
        per_series.smape.mean(),
        per_series.bias.mean(),
        per_series.c80.mean(),
        per_series.c95.mean(),
        per_series.holdout_mase.mean(),
        per_series.holdout_naive_mase.mean(),
    ]
    table["improvement"] = 1 - table.mase / table.seasonal_naive_mase
    return table.round(3)


@benchmark
def forecast_accuracy(ctx: BenchContext) -> list[Result]:
    """The job on the demo world (ingest + silver build in a scratch home), accuracy read from its gold tables."""
    from deltalake import DeltaTable

    from benchmarks.bench_warehouse import _ingest, _link_landing, _split_by_arrival
    from lakehouse import warehouse
    from spark_jobs.forecast.job import run

    landing = shared_landing(ctx)
    early, late, as_of = _split_by_arrival(landing)
    home = ctx.scratch("home")
    from datetime import datetime

    settings = replace(ctx.settings, home=home, as_of=datetime.fromisoformat(as_of))
    settings.paths.ensure()
    _link_landing(landing, settings.paths.landing, early + late)
    _ingest(home, as_of)
    warehouse.build("silver", settings=settings, echo=False)
    summary = run(settings, echo=True, master="local[2]")
    backtest = DeltaTable(str(settings.paths.table("gold", "forecast_backtest"))).to_pandas()
    models = DeltaTable(str(settings.paths.table("gold", "forecast_models"))).to_pandas()
    table = accuracy_table(backtest, models)
    (ctx.settings.paths.bench / "forecast_accuracy.md").write_text(table.to_markdown() + "\n")
    print(table.to_string())
    portfolio = table.loc["portfolio"]
    results = [
        Result(
            "forecast_portfolio_mase",
            float(portfolio.mase),
            "MASE",
            baseline="seasonal naive (7)",
            baseline_value=float(portfolio.seasonal_naive_mase),
            goal="ratio <= 0.9",
            passed=float(portfolio.mase) <= 0.9 * float(portfolio.seasonal_naive_mase),
            extra={"table": table.reset_index().to_dict("records"), "job_seconds": summary["seconds"]},
        ),
        Result(
            "forecast_portfolio_holdout_mase",
            float(portfolio.holdout_mase),
            "MASE",
            baseline="seasonal naive (7), last window",
            baseline_value=float(portfolio.holdout_naive_mase),
            goal="chosen on windows 1-2, scored on window 3",
        ),
    ]
    for demand_class in ("smooth", "erratic"):
        if demand_class in table.index:
            row = table.loc[demand_class]
            for level in (80, 95):
                value = float(row[f"coverage{level}"]) * 100
                results.append(
                    Result(
                        f"forecast_coverage{level}_{demand_class}",
                        value,
                        "%",
                        goal=f"{level} +- 5",
                        passed=abs(value - level) <= 5,
                    )
                )
    return results
