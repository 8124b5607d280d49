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
from typing import Any

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


def statsforecast_points_only(frame: pd.DataFrame, cfg: ForecastConfig) -> float:
    """A lower bound for the direct route (the baseline before the job's whole work was repeated): the same
    statsforecast fits (``cross_validation`` 3 x 30 days + ``forecast``, per demand class, ``n_jobs=2``) with no
    intervals, scores or choice. Seconds."""
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


def statsforecast_direct(frame: pd.DataFrame, cfg: ForecastConfig) -> dict[str, Any]:
    """The job's work done directly: statsforecast's own API on pandas frames (one StatsForecast per demand class
    with that class's menu plus the seasonal naive benchmark, ``n_jobs=2``): ``cross_validation`` (3 x 30 days) and
    ``forecast``, 80/95% intervals (the models' own where they have them, else the job's negative-binomial
    intervals, vectorised over the frame), backtest scores (MASE, sMAPE, bias, coverage) and the per-series choice
    in pandas. Returns ``seconds`` (all of it), ``model_seconds`` (the statsforecast calls alone) and ``choices``
    (series -> chosen model, to check it agrees with the job).

    The synthetic series have no stockouts and no calendar multipliers, so the job's adjustment is a no-op that
    is not repeated here. Unlike the job, expensive models are fitted on every series of their class (the job
    skips them under 0.5 units/day) and every model's final forecast is made (the job makes the chosen one's)."""
    from statsforecast import StatsForecast

    from spark_jobs.forecast.config import MODELS

    started = time.perf_counter()
    model_seconds = 0.0
    h, levels = cfg.horizon, list(cfg.levels)
    hist = frame[~frame.is_future].rename(columns={"series_id": "unique_id"})[["unique_id", "ds", "y"]]
    hist["ds"] = pd.to_datetime(hist["ds"])
    hist = hist.sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True)
    classes = {sid: engine.classify(g.y.to_numpy())[0] for sid, g in hist.groupby("unique_id")}
    hist["demand_class"] = hist.unique_id.map(classes)
    # per series and day: what a forecast made at that day's end needs (last 90 days' variance, MASE scale)
    by_series = hist.groupby("unique_id").y
    hist["var90"] = by_series.rolling(90, min_periods=2).var(ddof=0).reset_index(level=0, drop=True)
    diff = (hist.y - by_series.shift(cfg.season_length)).abs()
    sums, counts = diff.groupby(hist.unique_id).cumsum(), diff.notna().groupby(hist.unique_id).cumsum()
    level = hist.y.abs().groupby(hist.unique_id).cumsum() / (hist.groupby("unique_id").cumcount() + 1)
    scale = (sums / counts.where(counts > 0)).where(lambda s: s > 0, level.where(level > 0, 1.0))
    hist["scale"] = scale.fillna(level.where(level > 0, 1.0))
    chosen, choices = [], {}
    for demand_class, part in hist.groupby("demand_class"):
        names = list(dict.fromkeys([*cfg.menu_for(str(demand_class)), BENCHMARK_MODEL]))
        data = part[["unique_id", "ds", "y"]]
        cvs, fcs = [], []
        t = time.perf_counter()
        for native in (True, False):
            group = [n for n in names if MODELS[n].native_intervals == native]
            if not group:
                continue
            models = [engine.make_model(n, cfg, DAYS) for n in group]
            for model, name in zip(models, group, strict=True):
                model.alias = name
            sf = StatsForecast(models=models, freq="D", n_jobs=2)
            kwargs = {"level": levels} if native else {}
            cvs.append(_long(sf.cross_validation(df=data, h=h, n_windows=cfg.windows, step_size=h, **kwargs), group))
            last = data.groupby("unique_id").ds.max().rename("cutoff")
            fcs.append(_long(sf.forecast(df=data, h=h, **kwargs).merge(last.reset_index()), group))
        model_seconds += time.perf_counter() - t
        info = part.rename(columns={"ds": "cutoff"})[["unique_id", "cutoff", "var90", "scale"]]
        cv = _with_intervals(pd.concat(cvs, ignore_index=True).merge(info, on=["unique_id", "cutoff"]), cfg)
        fc = _with_intervals(pd.concat(fcs, ignore_index=True).merge(info, on=["unique_id", "cutoff"]), cfg)
        cv["err"] = cv.point - cv.y
        denom = cv.y.abs() + cv.point.abs()
        cv["smape"] = np.where(denom > 0, 2 * cv.err.abs() / denom.where(denom > 0, 1), 0.0)
        cv["abs_err"] = cv.err.abs()
        cv["in80"] = (cv.y >= cv.lo80) & (cv.y <= cv.hi80)
        cv["in95"] = (cv.y >= cv.lo95) & (cv.y <= cv.hi95)
        scores = cv.groupby(["unique_id", "model", "cutoff"]).agg(
            mae=("abs_err", "mean"),
            smape=("smape", "mean"),
            bias=("err", "mean"),
            coverage80=("in80", "mean"),
            coverage95=("in95", "mean"),
            scale=("scale", "first"),
        )
        scores["mase"] = scores.mae / scores.scale
        scores["abs_bias"] = scores.bias.abs()
        menu = list(cfg.menu_for(str(demand_class)))
        per_model = scores.reset_index().groupby(["unique_id", "model"])[["mase", "abs_bias"]].mean().reset_index()
        per_model = per_model[per_model.model.isin(menu)].copy()
        per_model["order"] = per_model.model.map(menu.index)
        best = per_model.sort_values(["unique_id", "mase", "abs_bias", "order"]).drop_duplicates("unique_id")
        chosen.append(fc.merge(best[["unique_id", "model"]]))
        choices.update(zip(best.unique_id, best.model, strict=True))
    out = pd.concat(chosen, ignore_index=True)
    assert out.unique_id.nunique() == hist.unique_id.nunique()
    return {"seconds": time.perf_counter() - started, "model_seconds": model_seconds, "choices": choices}


def _long(wide: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """statsforecast's wide output (a column per model and bound) as one row per series, day and model."""
    keys = [c for c in ("unique_id", "ds", "cutoff", "y") if c in wide.columns]
    parts = []
    for name in names:
        part = wide[keys].copy()
        part["model"] = name
        part["point"] = wide[name].to_numpy()
        for lv in (80, 95):
            for side in ("lo", "hi"):
                column = f"{name}-{side}-{lv}"
                part[f"{side}{lv}"] = wide[column].to_numpy() if column in wide.columns else np.nan
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _with_intervals(frame: pd.DataFrame, cfg: ForecastConfig) -> pd.DataFrame:
    """Clip at 0; negative-binomial bounds (the job's, growing with the horizon) where the model has none."""
    frame = frame.sort_values(["unique_id", "model", "cutoff", "ds"], kind="mergesort").reset_index(drop=True)
    for column in ("point", "lo80", "hi80", "lo95", "hi95"):
        frame[column] = frame[column].clip(lower=0)
    missing = frame.lo80.isna().to_numpy()
    if missing.any():
        step = (frame.ds - frame.cutoff).dt.days.to_numpy()[missing] - 1
        point = frame.point.to_numpy()[missing]
        var = frame.var90.to_numpy()[missing] * (1 + step * 0.01)
        tails = [(1 - level / 100) / 2 for level in cfg.levels]
        q = engine._nb_quantiles(point, var, np.array([*tails, *(1 - t for t in tails)]))
        for i, level in enumerate(cfg.levels):
            frame.loc[missing, f"lo{level}"] = q[i]
            frame.loc[missing, f"hi{level}"] = q[len(tails) + i]
    frame["lo80"] = np.minimum(frame.lo80, frame.point)
    frame["hi80"] = np.maximum(frame.hi80, frame.point)
    frame["lo95"] = np.minimum(frame.lo95, frame.lo80)
    frame["hi95"] = np.maximum(frame.hi95, frame.hi80)
    return frame


@benchmark
def forecast_scale(ctx: BenchContext) -> list[Result]:
    from lakehouse.spark import get_spark
    from spark_jobs.forecast.job import batch_count, run_forecasts

    n_series = int(os.environ.get("BENCH_FORECAST_SERIES", "10000"))
    cfg = ForecastConfig()
    frame = synthetic_demand(shared_landing(ctx), n_series)
    spark = get_spark("bench-forecast", master="local[2]", settings=ctx.settings)
    n_batches = batch_count(n_series, cfg.batch_size, 2 * spark.sparkContext.defaultParallelism)
    sdf = spark.createDataFrame(frame.assign(batch=frame.series_id.str[1:].astype(int) % n_batches))
    sdf = sdf.repartition(n_batches, "batch").cache()
    sdf.count()
    started = time.perf_counter()
    out = run_forecasts(sdf, cfg).cache()
    rows = out.count()
    spark_seconds = time.perf_counter() - started
    choices = out.where("kind = 'choice'").select("series_id", "demand_class", "model").toPandas()
    classes = choices.demand_class.value_counts()
    out.unpersist()
    sdf.unpersist()
    direct = statsforecast_direct(frame, cfg)
    direct_seconds = direct["seconds"]
    points_only_seconds = statsforecast_points_only(frame, cfg)
    job_choice = choices.set_index("series_id").model
    direct_choice = pd.Series(direct["choices"]).reindex(job_choice.index)
    extra = {
        "series": n_series,
        "direct_seconds": round(direct_seconds, 2),
        "direct_statsforecast_seconds": round(direct["model_seconds"], 2),
        "statsforecast_points_only_seconds": round(points_only_seconds, 2),
        "rows": rows,
        "classes": {str(k): int(v) for k, v in classes.items()},
        # the baseline does the same work: it must choose the same models
        "same_choice_share": round(float((job_choice == direct_choice).mean()), 4),
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
            baseline="statsforecast + pandas, same models, intervals, scores, choice",
            baseline_value=direct_seconds,
            goal="ratio <= 1.3",
            passed=spark_seconds / direct_seconds <= 1.3,
            extra=extra,
        ),
        Result(
            "forecast_vs_statsforecast_points_only",
            spark_seconds,
            "s",
            baseline="statsforecast fits alone: no intervals, scores or choice (a lower bound, not the same work)",
            baseline_value=points_only_seconds,
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
