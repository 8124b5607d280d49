"""Forecasting of one batch of daily demand series: pure pandas/numpy + statsforecast models, no Spark.

For each series (one SKU x market): adjust history for calendar events and seller promotions, treat stockout days
as missing rather than zero demand, classify demand (ADI / CV²), backtest the class's model menu by rolling origin
(``windows`` x ``horizon`` days), choose the model with the lowest mean MASE, and forecast ``horizon`` days with
80%/95% intervals. :func:`forecast_batch` is what Spark's ``applyInPandas`` runs per group of series.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spark_jobs.forecast.config import ADI_CUTOFF, BENCHMARK_MODEL, CV2_CUTOFF, MODELS, ForecastConfig

# columns of the batch frame handed to forecast_batch (history rows, then future rows with y = NaN)
INPUT_COLUMNS = ["series_id", "ds", "y", "is_stockout", "multiplier", "is_future"]
# one union schema for the three outputs (kind = forecast | accuracy | choice), split apart by the job
OUTPUT_SCHEMA = (
    "kind string, series_id string, model string, ds date, horizon_day int, window int, "
    "point double, lo80 double, hi80 double, lo95 double, hi95 double, "
    "mase double, smape double, bias double, mae double, coverage80 double, coverage95 double, eval_days int, "
    "demand_class string, adi double, cv2 double, history_days int, stockout_days int, windows int, "
    "mean_daily_demand double, demand_std double, reason string"
)
OUTPUT_COLUMNS = [c.strip().split(" ")[0] for c in OUTPUT_SCHEMA.split(",")]

_Z = {80: 1.2815515655446004, 95: 1.959963984540054}
_WARMED: dict[str, float] = {}


def classify(y: np.ndarray) -> tuple[str, float, float]:
    """Demand class of a (stockout-free) series by ADI and CV² of its non-zero values (Syntetos-Boylan)."""
    y = np.asarray(y, dtype=float)
    y = y[~np.isnan(y)]
    nonzero = y[y > 0]
    if len(nonzero) == 0:
        return "lumpy", float("inf"), 0.0
    adi = len(y) / len(nonzero)
    cv2 = float((nonzero.std() / nonzero.mean()) ** 2) if len(nonzero) > 1 else 0.0
    if adi < ADI_CUTOFF:
        return ("smooth" if cv2 < CV2_CUTOFF else "erratic"), float(adi), cv2
    return ("intermittent" if cv2 < CV2_CUTOFF else "lumpy"), float(adi), cv2


def impute_stockouts(y: np.ndarray, stockout: np.ndarray, window: int = 28) -> np.ndarray:
    """Stockout days are censored, not zero demand: replace them with the mean of the ``window`` days before that
    had stock (the whole series' in-stock mean when there are none)."""
    y = np.asarray(y, dtype=float).copy()
    stockout = np.asarray(stockout, dtype=bool)
    if not stockout.any():
        return y
    in_stock = ~stockout
    overall = float(y[in_stock].mean()) if in_stock.any() else 0.0
    values = np.where(in_stock, y, 0.0)
    sums = np.concatenate([[0.0], np.cumsum(values)])
    counts = np.concatenate([[0], np.cumsum(in_stock)])
    for i in np.flatnonzero(stockout):
        lo = max(0, i - window)
        n = counts[i] - counts[lo]
        y[i] = (sums[i] - sums[lo]) / n if n else overall
    return y


def make_model(name: str, cfg: ForecastConfig, n: int | None = None) -> Any:
    from statsforecast import models as m

    season = cfg.season_length
    factories = {
        "naive": lambda: m.Naive(),
        "seasonal_naive": lambda: m.SeasonalNaive(season_length=season),
        "window_average": lambda: m.WindowAverage(
            window_size=max(1, min(cfg.window_average_days, n or cfg.window_average_days))
        ),
        "ets": lambda: m.AutoETS(season_length=season),
        "theta": lambda: m.AutoTheta(season_length=season),
        "arima": lambda: m.AutoARIMA(season_length=season),
        "croston": lambda: m.CrostonOptimized(),
        "sba": lambda: m.CrostonSBA(),
        "tsb": lambda: m.TSB(alpha_d=0.1, alpha_p=0.1),
        "adida": lambda: m.ADIDA(),
    }
    return factories[name]()


def warm_up(cfg: ForecastConfig) -> float:
    """Import statsforecast and run every model once on a short synthetic series, once per Python process.

    statsforecast 2.1's models are compiled C++ (no numba JIT any more), so this pays the import (~2-6 s) and
    first-call costs once per worker process instead of inside the first series' timing. Returns the seconds
    spent (0 when this process is already warm for these models)."""
    names = sorted({n for c in ("smooth", "erratic", "intermittent", "lumpy") for n in cfg.menu_for(c)})
    todo = [n for n in names if n not in _WARMED]
    if not todo:
        return 0.0
    started = time.perf_counter()
    t = np.arange(8 * cfg.season_length, dtype=float)
    y = 3 + np.sin(2 * np.pi * t / cfg.season_length) + (t % 3 == 0)
    for name in todo:
        _forecast(name, y, cfg.season_length, cfg)
        _WARMED[name] = time.perf_counter() - started
    return time.perf_counter() - started


def _nb_quantiles(mean: np.ndarray, var: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """Quantiles ``qs`` (rows) of negative binomials (Poisson when not over-dispersed) with these means and
    variances (columns), in one vectorised call each."""
    from scipy import stats

    mean = np.maximum(mean, 0.0)
    qs = np.asarray(qs, dtype=float)[:, None]
    out = np.zeros((qs.shape[0], len(mean)))
    pos = mean > 1e-9
    over = pos & (var > mean * (1 + 1e-6))
    if over.any():
        r = mean[over] ** 2 / (var[over] - mean[over])
        out[:, over] = stats.nbinom.ppf(qs, r, r / (r + mean[over]))
    poisson = pos & ~over
    if poisson.any():
        out[:, poisson] = stats.poisson.ppf(qs, mean[poisson])
    return out


def _forecast(name: str, y: np.ndarray, h: int, cfg: ForecastConfig) -> dict[str, np.ndarray]:
    """Point forecast and 80/95% intervals of model ``name`` fitted on ``y`` (adjusted scale)."""
    spec = MODELS[name]
    if spec.expensive and len(y) > cfg.max_train_days:
        y = y[-cfg.max_train_days :]
    model = make_model(name, cfg, len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if spec.native_intervals:
            res = model.forecast(y=y, h=h, level=list(cfg.levels))
        else:
            res = model.forecast(y=y, h=h)
    point = np.maximum(np.asarray(res["mean"], dtype=float), 0.0)
    if not np.isfinite(point).all():
        raise FloatingPointError(f"{name} produced a non-finite forecast")
    out = {"point": point}
    if spec.native_intervals:
        for level in cfg.levels:
            out[f"lo{level}"] = np.maximum(np.asarray(res[f"lo-{level}"], dtype=float), 0.0)
            out[f"hi{level}"] = np.maximum(np.asarray(res[f"hi-{level}"], dtype=float), 0.0)
    else:
        # demand variance around the level over the last 90 days, growing with the horizon like simple
        # exponential smoothing's forecast variance (alpha = 0.1): sigma_h^2 = sigma^2 (1 + (h-1) alpha^2)
        recent = y[-90:]
        var = float(np.var(recent)) if len(recent) > 1 else float(point.mean())
        var_h = var * (1 + np.arange(h) * 0.01)
        tails = [(1 - level / 100) / 2 for level in cfg.levels]
        quantiles = _nb_quantiles(point, var_h, np.array([*tails, *(1 - t for t in tails)]))
        for i, level in enumerate(cfg.levels):
            out[f"lo{level}"] = quantiles[i]
            out[f"hi{level}"] = quantiles[len(tails) + i]
    return out


def _ordered(fc: dict[str, np.ndarray], scale: np.ndarray) -> dict[str, np.ndarray]:
    """Back to the units scale (calendar/promo multipliers), bounds nested around the point forecast."""
    point = fc["point"] * scale
    lo80 = np.minimum(fc["lo80"] * scale, point)
    hi80 = np.maximum(fc["hi80"] * scale, point)
    return {
        "point": point,
        "lo80": lo80,
        "hi80": hi80,
        "lo95": np.minimum(fc["lo95"] * scale, lo80),
        "hi95": np.maximum(fc["hi95"] * scale, hi80),
    }


def mase_scale(y: np.ndarray, season: int) -> float:
    """In-sample mean absolute seasonal-naive error (the MASE denominator); the mean level when it is 0."""
    if len(y) > season:
        scale = float(np.mean(np.abs(y[season:] - y[:-season])))
        if scale > 0:
            return scale
    level = float(np.mean(np.abs(y))) if len(y) else 0.0
    return level if level > 0 else 1.0


@dataclass
class Scores:
    mase: float
    smape: float
    bias: float
    mae: float
    coverage80: float
    coverage95: float
    eval_days: int


def score(actual: np.ndarray, fc: dict[str, np.ndarray], mask: np.ndarray, scale: float) -> Scores:
    """MASE, sMAPE (0..2; 0/0 counts as 0), bias (mean forecast - actual, units/day), interval coverage."""
    a, p = actual[mask], fc["point"][mask]
    if len(a) == 0:
        nan = float("nan")
        return Scores(nan, nan, nan, nan, nan, nan, 0)
    err = p - a
    denom = np.abs(a) + np.abs(p)
    smape = np.where(denom > 0, 2 * np.abs(err) / np.where(denom > 0, denom, 1), 0.0)
    cov80 = np.mean((a >= fc["lo80"][mask]) & (a <= fc["hi80"][mask]))
    cov95 = np.mean((a >= fc["lo95"][mask]) & (a <= fc["hi95"][mask]))
    mae = float(np.mean(np.abs(err)))
    return Scores(mae / scale, float(smape.mean()), float(err.mean()), mae, float(cov80), float(cov95), len(a))


def _row(kind: str, series_id: str, **values: Any) -> dict[str, Any]:
    return {"kind": kind, "series_id": series_id, **values}


def forecast_series(
    series_id: str, history: pd.DataFrame, future: pd.DataFrame, cfg: ForecastConfig
) -> list[dict[str, Any]]:
    """Backtest, choose and forecast one series. ``history``: ds, y, is_stockout, multiplier (sorted by ds);
    ``future``: ds, multiplier for the horizon's days. Returns output rows (see ``OUTPUT_SCHEMA``)."""
    h = len(future)
    units = history["y"].to_numpy(dtype=float)
    stockout = history["is_stockout"].to_numpy(dtype=bool)
    mult = np.maximum(history["multiplier"].to_numpy(dtype=float), 1e-6)
    adjusted = impute_stockouts(units / mult, stockout)
    demand_class, adi, cv2 = classify(np.where(stockout, np.nan, units / mult))
    n = len(adjusted)
    windows = max(0, min(cfg.windows, (n - cfg.min_train_days) // h)) if h else 0
    mean_demand = float(adjusted[-90:].mean()) if n else 0.0
    menu = [
        name
        for name in cfg.menu_for(demand_class)
        if not (MODELS[name].expensive and mean_demand < cfg.min_volume_for_auto)
    ] or ["window_average"]
    if n < 2 * cfg.season_length:  # too short for seasonal models: the mean of what there is
        menu = ["window_average"]
    scored = [*menu, BENCHMARK_MODEL] if BENCHMARK_MODEL not in menu else menu
    rows: list[dict[str, Any]] = []
    mase_by_model: dict[str, list[float]] = {name: [] for name in scored}
    bias_by_model: dict[str, list[float]] = {name: [] for name in scored}
    for w in range(windows):
        cut = n - (windows - w) * h
        train, test_mask = adjusted[:cut], ~stockout[cut : cut + h]
        scale = mase_scale(train, cfg.season_length)
        for name in scored:
            try:
                fc = _ordered(_forecast(name, train, h, cfg), mult[cut : cut + h])
            except Exception as exc:  # a model that cannot fit this series drops out of its menu
                rows.append(_row("accuracy", series_id, model=name, window=w + 1, reason=f"failed: {exc}"[:200]))
                mase_by_model[name].append(float("inf"))
                continue
            s = score(units[cut : cut + h], fc, test_mask, scale)
            rows.append(_row("accuracy", series_id, model=name, window=w + 1, ds=history["ds"].iloc[cut], **vars(s)))
            mase_by_model[name].append(s.mase if np.isfinite(s.mase) else float("nan"))
            bias_by_model[name].append(s.bias)
    if windows:
        ranking = []
        for order, name in enumerate(menu):
            values = np.array(mase_by_model[name], dtype=float)
            mean_mase = float(np.nanmean(values)) if np.isfinite(values).any() else float("inf")
            mean_bias = float(np.nanmean(np.abs(bias_by_model[name]))) if bias_by_model[name] else float("inf")
            ranking.append((mean_mase, mean_bias, order, name))
        ranking.sort()
        chosen, reason = ranking[0][3], f"lowest mean MASE over {windows} backtest window(s)"
        chosen_mase = ranking[0][0]
    else:
        chosen = menu[0]
        reason, chosen_mase = f"history of {n} day(s) too short for a backtest: class default", float("nan")
    try:
        fc = _forecast(chosen, adjusted, h, cfg)
    except Exception as exc:
        fc, reason = _forecast("window_average", adjusted, h, cfg), f"{chosen} failed ({exc}); window average"
        chosen = "window_average"
    fc = _ordered(fc, np.maximum(future["multiplier"].to_numpy(dtype=float), 1e-6))
    for i, ds in enumerate(future["ds"]):
        rows.append(
            _row(
                "forecast",
                series_id,
                model=chosen,
                ds=ds,
                horizon_day=i + 1,
                **{k: float(v[i]) for k, v in fc.items()},
            )
        )
    recent = adjusted[-90:]
    rows.append(
        _row(
            "choice",
            series_id,
            model=chosen,
            mase=chosen_mase if np.isfinite(chosen_mase) else None,
            demand_class=demand_class,
            adi=adi if np.isfinite(adi) else None,
            cv2=cv2,
            history_days=int(n),
            stockout_days=int(stockout.sum()),
            windows=int(windows),
            mean_daily_demand=float(recent.mean()) if len(recent) else 0.0,
            demand_std=float(recent.std()) if len(recent) > 1 else 0.0,
            reason=reason,
        )
    )
    return rows


def forecast_batch(batch: pd.DataFrame, cfg: ForecastConfig) -> pd.DataFrame:
    """Forecast every series of ``batch`` (``INPUT_COLUMNS``; future rows flagged ``is_future``)."""
    warm_up(cfg)
    rows: list[dict[str, Any]] = []
    batch = batch.sort_values(["series_id", "ds"], kind="mergesort")
    for series_id, frame in batch.groupby("series_id", sort=True):
        future_mask = frame["is_future"].to_numpy(dtype=bool)
        rows += forecast_series(str(series_id), frame[~future_mask], frame[future_mask], cfg)
    out = pd.DataFrame(rows, columns=OUTPUT_COLUMNS)
    for column in ("horizon_day", "window", "eval_days", "history_days", "stockout_days", "windows"):
        out[column] = out[column].astype("Int32")
    out["ds"] = pd.to_datetime(out["ds"]).dt.date
    return out


def numba_cache_dir(cache_root: os.PathLike | str) -> str:
    """Where numba-compiled code (if any model still uses numba) is cached between processes."""
    return os.path.join(os.fspath(cache_root), "numba")
