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
    days = np.flatnonzero(stockout)
    lo = np.maximum(0, days - window)
    n = counts[days] - counts[lo]
    y[days] = np.where(n > 0, (sums[days] - sums[lo]) / np.where(n > 0, n, 1), overall)
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
        out[:, poisson] = poisson_ppf(qs, mean[poisson])
    return out


def poisson_ppf(qs: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """``scipy.stats.poisson.ppf(qs, mu)`` (the smallest k with P(X <= k) >= q) for 0 < q < 1 and mu > 0, several
    times faster: scipy inverts the CDF with a slow iterative solver per value; here a normal-approximation guess is
    corrected one step at a time with the (fast, vectorised) Poisson CDF until it is the smallest such k."""
    from scipy import special

    qs, mu = np.broadcast_arrays(np.asarray(qs, dtype=float), np.asarray(mu, dtype=float))
    z = special.ndtri(qs)
    k = np.maximum(0.0, np.floor(mu + z * np.sqrt(mu) + (z * z - 1) / 6))  # Cornish-Fisher, skewness term
    low = special.pdtr(k, mu) < qs
    while low.any():  # too small: step up
        k = np.where(low, k + 1, k)
        low = special.pdtr(k, mu) < qs
    high = (k > 0) & (special.pdtr(np.maximum(k - 1, 0), mu) >= qs)
    while high.any():  # not the smallest: step down
        k = np.where(high, k - 1, k)
        high = (k > 0) & (special.pdtr(np.maximum(k - 1, 0), mu) >= qs)
    return k


def _seasonal_naive(y: np.ndarray, h: int, season: int, levels: tuple[int, ...]) -> dict[str, np.ndarray]:
    """statsforecast's SeasonalNaive (``season`` 1 = Naive) forecast with its normal intervals, in plain numpy:
    the same formulas (last season repeated; sigma from the in-sample seasonal differences, growing with the
    number of seasons ahead), without statsforecast's per-call cost of building a scipy distribution."""
    res = y[season:] - y[:-season]
    sigma = np.sqrt(np.nansum(res**2) / (len(y) - season))
    sigma_h = sigma * np.sqrt(np.floor(np.arange(h) / season) + 1)
    mean = y[-season:][np.arange(h) % season]
    out = {"point": mean}
    for level in levels:
        out[f"lo{level}"] = mean - _Z[level] * sigma_h
        out[f"hi{level}"] = mean + _Z[level] * sigma_h
    return out


def _fit(name: str, y: np.ndarray, h: int, cfg: ForecastConfig) -> dict[str, np.ndarray]:
    """Point forecast of model ``name`` fitted on ``y`` (adjusted scale), with its own 80/95% intervals when it has
    them, else ``var``: the demand variance per horizon day for negative-binomial intervals (see
    :func:`_add_intervals`, which computes those for a whole batch at once)."""
    spec = MODELS[name]
    if spec.expensive and len(y) > cfg.max_train_days:
        y = y[-cfg.max_train_days :]
    season = {"naive": 1, "seasonal_naive": cfg.season_length}.get(name)
    if season is not None and len(y) > season and set(cfg.levels) <= set(_Z):
        out = _seasonal_naive(y, h, season, cfg.levels)
    else:
        model = make_model(name, cfg, len(y))
        res = model.forecast(y=y, h=h, level=list(cfg.levels)) if spec.native_intervals else model.forecast(y=y, h=h)
        out = {"point": np.asarray(res["mean"], dtype=float)}
        if spec.native_intervals:
            for level in cfg.levels:
                out[f"lo{level}"] = np.asarray(res[f"lo-{level}"], dtype=float)
                out[f"hi{level}"] = np.asarray(res[f"hi-{level}"], dtype=float)
    if not np.isfinite(out["point"]).all():
        raise FloatingPointError(f"{name} produced a non-finite forecast")
    out = {k: np.maximum(v, 0.0) for k, v in out.items()}
    if not spec.native_intervals:
        # demand variance around the level over the last 90 days, growing with the horizon like simple
        # exponential smoothing's forecast variance (alpha = 0.1): sigma_h^2 = sigma^2 (1 + (h-1) alpha^2)
        recent = y[-90:]
        var = float(np.var(recent)) if len(recent) > 1 else float(out["point"].mean())
        out["var"] = var * (1 + np.arange(h) * 0.01)
    return out


def _add_intervals(fcs: list[dict[str, np.ndarray]], cfg: ForecastConfig) -> None:
    """Negative-binomial 80/95% bounds for every forecast of ``fcs`` without native intervals, in one scipy call
    over all of them (a call per forecast costs more than the models themselves)."""
    todo = [fc for fc in fcs if "var" in fc]
    if not todo:
        return
    sizes = np.cumsum([len(fc["point"]) for fc in todo])[:-1]
    tails = [(1 - level / 100) / 2 for level in cfg.levels]
    quantiles = _nb_quantiles(
        np.concatenate([fc["point"] for fc in todo]),
        np.concatenate([fc.pop("var") for fc in todo]),
        np.array([*tails, *(1 - t for t in tails)]),
    )
    for i, level in enumerate(cfg.levels):
        for fc, lo, hi in zip(
            todo, np.split(quantiles[i], sizes), np.split(quantiles[len(tails) + i], sizes), strict=True
        ):
            fc[f"lo{level}"], fc[f"hi{level}"] = lo, hi


def _forecast(name: str, y: np.ndarray, h: int, cfg: ForecastConfig) -> dict[str, np.ndarray]:
    """Point forecast and 80/95% intervals of model ``name`` fitted on ``y`` (adjusted scale)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = _fit(name, y, h, cfg)
    _add_intervals([fc], cfg)
    return fc


def _ordered(fc: dict[str, np.ndarray], scale: np.ndarray) -> dict[str, np.ndarray]:
    """Back to the units scale (calendar/promo multipliers), bounds nested around the point forecast. Works on
    one forecast (vectors) or many stacked (rows of matrices)."""
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
    s = score_many(actual[None, :], {k: v[None, :] for k, v in fc.items()}, mask[None, :], np.array([scale]))
    return Scores(**{k: float(s[k][0]) for k in _SCORE_KEYS[:-1]}, eval_days=int(s["eval_days"][0]))


_SCORE_KEYS = ("mase", "smape", "bias", "mae", "coverage80", "coverage95", "eval_days")


def score_many(
    actual: np.ndarray, fc: dict[str, np.ndarray], mask: np.ndarray, scale: np.ndarray
) -> dict[str, np.ndarray]:
    """:func:`score` of many forecasts at once: one row per forecast (matrices of equal width), masked days left
    out; NaN scores (and 0 eval days) for rows without a scored day."""
    days = mask.sum(axis=1)
    n = np.where(days > 0, days, 1)
    actual = np.where(mask, actual, 0.0)
    point = np.where(mask, fc["point"], 0.0)
    err = point - actual
    denom = np.abs(actual) + np.abs(point)
    smape = np.where(denom > 0, 2 * np.abs(err) / np.where(denom > 0, denom, 1), 0.0)
    inside80 = mask & (actual >= fc["lo80"]) & (actual <= fc["hi80"])
    inside95 = mask & (actual >= fc["lo95"]) & (actual <= fc["hi95"])
    mae = np.abs(err).sum(axis=1) / n
    out = {
        "mase": mae / scale,
        "smape": smape.sum(axis=1) / n,
        "bias": err.sum(axis=1) / n,
        "mae": mae,
        "coverage80": inside80.sum(axis=1) / n,
        "coverage95": inside95.sum(axis=1) / n,
    }
    for key in out:
        out[key] = np.where(days > 0, out[key], np.nan)
    out["eval_days"] = days
    return out


@dataclass
class _Series:
    """One series of a batch between the passes of :func:`forecast_batch`."""

    series_id: str
    ds: np.ndarray
    units: np.ndarray
    stockout: np.ndarray
    mult: np.ndarray
    adjusted: np.ndarray
    future_ds: np.ndarray
    future_mult: np.ndarray
    demand_class: str
    adi: float
    cv2: float
    windows: int
    menu: list[str]
    scored: list[str]
    first_item: int = 0  # its backtest forecasts: items[first_item:last_item] of the batch
    last_item: int = 0


@dataclass
class _Item:
    """One backtest forecast: series (index in the batch), model, window, cutoff; ``fc`` None when it failed."""

    series: int
    model: str
    window: int
    cut: int
    fc: dict[str, np.ndarray] | None
    reason: str | None = None


def _prepare(
    series_id: str,
    ds: np.ndarray,
    units: np.ndarray,
    stockout: np.ndarray,
    multiplier: np.ndarray,
    future_ds: np.ndarray,
    future_multiplier: np.ndarray,
    cfg: ForecastConfig,
) -> _Series:
    """Adjust, impute and classify a series; its backtest windows and model menu."""
    mult = np.maximum(multiplier, 1e-6)
    adjusted = impute_stockouts(units / mult, stockout)
    demand_class, adi, cv2 = classify(np.where(stockout, np.nan, units / mult))
    n, h = len(adjusted), len(future_ds)
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
    return _Series(
        series_id, ds, units, stockout, mult, adjusted, future_ds, np.maximum(future_multiplier, 1e-6),
        demand_class, adi, cv2, windows, menu, scored,
    )  # fmt: skip


def _backtest(index: int, s: _Series, cfg: ForecastConfig, items: list[_Item]) -> None:
    """Fit every scored model on every rolling-origin window of series ``s``; appends to ``items``."""
    n, h = len(s.adjusted), len(s.future_ds)
    s.first_item = len(items)
    for w in range(s.windows):
        cut = n - (s.windows - w) * h
        train = s.adjusted[:cut]
        for name in s.scored:
            try:
                items.append(_Item(index, name, w + 1, cut, _fit(name, train, h, cfg)))
            except Exception as exc:  # a model that cannot fit this series drops out of its menu
                items.append(_Item(index, name, w + 1, cut, None, f"failed: {exc}"[:200]))
    s.last_item = len(items)


def _score_items(items: list[_Item], series: list[_Series], cfg: ForecastConfig) -> dict[str, np.ndarray]:
    """Scores of every backtest forecast of the batch (NaN for failed ones), stacked per horizon length."""
    out = {key: np.full(len(items), np.nan) for key in _SCORE_KEYS}
    ok = [i for i, item in enumerate(items) if item.fc is not None]
    by_width: dict[int, list[int]] = {}
    for i in ok:
        by_width.setdefault(len(items[i].fc["point"]), []).append(i)  # type: ignore[index]
    for h, rows in by_width.items():
        fcs = [items[i].fc for i in rows]
        stacked = {k: np.stack([fc[k] for fc in fcs]) for k in ("point", "lo80", "hi80", "lo95", "hi95")}  # type: ignore[index]
        actual, mask, mult, scale = [], [], [], []
        for i in rows:
            item = items[i]
            s = series[item.series]
            actual.append(s.units[item.cut : item.cut + h])
            mask.append(~s.stockout[item.cut : item.cut + h])
            mult.append(s.mult[item.cut : item.cut + h])
        scales: dict[tuple[int, int], float] = {}
        for i in rows:
            origin = (items[i].series, items[i].cut)
            if origin not in scales:
                scales[origin] = mase_scale(series[origin[0]].adjusted[: origin[1]], cfg.season_length)
            scale.append(scales[origin])
        scores = score_many(np.stack(actual), _ordered(stacked, np.stack(mult)), np.stack(mask), np.array(scale))
        for key in _SCORE_KEYS:
            out[key][rows] = scores[key]
    return out


def _choose(s: _Series, items: list[_Item], scores: dict[str, np.ndarray]) -> tuple[str, str, float]:
    """The menu model with the lowest mean MASE over the windows (ties: lower mean |bias|, then menu order)."""
    n = len(s.adjusted)
    if not s.windows:
        return s.menu[0], f"history of {n} day(s) too short for a backtest: class default", float("nan")
    mase_by_model: dict[str, list[float]] = {name: [] for name in s.scored}
    bias_by_model: dict[str, list[float]] = {name: [] for name in s.scored}
    for i in range(s.first_item, s.last_item):
        item = items[i]
        if item.fc is None:
            mase_by_model[item.model].append(float("inf"))
            continue
        mase = float(scores["mase"][i])
        mase_by_model[item.model].append(mase if np.isfinite(mase) else float("nan"))
        bias_by_model[item.model].append(float(scores["bias"][i]))
    ranking = []
    for order, name in enumerate(s.menu):
        values = np.array(mase_by_model[name], dtype=float)
        mean_mase = float(np.nanmean(values)) if np.isfinite(values).any() else float("inf")
        mean_bias = float(np.nanmean(np.abs(bias_by_model[name]))) if bias_by_model[name] else float("inf")
        ranking.append((mean_mase, mean_bias, order, name))
    ranking.sort()
    return ranking[0][3], f"lowest mean MASE over {s.windows} backtest window(s)", ranking[0][0]


def forecast_series(
    series_id: str, history: pd.DataFrame, future: pd.DataFrame, cfg: ForecastConfig
) -> list[dict[str, Any]]:
    """Backtest, choose and forecast one series. ``history``: ds, y, is_stockout, multiplier (sorted by ds);
    ``future``: ds, multiplier for the horizon's days. Returns output rows (see ``OUTPUT_SCHEMA``)."""
    batch = pd.concat(
        [history.assign(is_future=False), future.assign(y=np.nan, is_stockout=False, is_future=True)],
        ignore_index=True,
    ).assign(series_id=series_id)
    out = forecast_batch(batch[INPUT_COLUMNS], cfg, warm=False)
    return [{k: (None if _missing(v) else v) for k, v in row.items()} for row in out.to_dict("records")]


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def forecast_batch(batch: pd.DataFrame, cfg: ForecastConfig, warm: bool = True) -> pd.DataFrame:
    """Forecast every series of ``batch`` (``INPUT_COLUMNS``; future rows flagged ``is_future``).

    Per series only what must be: slicing, adjustment, classification, the model fits and the choice. Everything
    per forecast that is not a fit is done once for the whole batch on stacked matrices: negative-binomial
    intervals (one scipy call), back-scaling, interval nesting and backtest scores."""
    if warm:
        warm_up(cfg)
    batch = batch.sort_values(["series_id", "ds"], kind="mergesort")
    ids = batch["series_id"].astype(str).to_numpy()
    ds = batch["ds"].to_numpy()
    y = batch["y"].to_numpy(dtype=float)
    stockout = batch["is_stockout"].to_numpy(dtype=bool)
    multiplier = batch["multiplier"].to_numpy(dtype=float)
    future = batch["is_future"].to_numpy(dtype=bool)
    bounds = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.array([], dtype=int)
    series: list[_Series] = []
    items: list[_Item] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for index, (a, b) in enumerate(zip(bounds, [*bounds[1:], len(ids)], strict=True)):
            hist = a + np.flatnonzero(~future[a:b])
            fut = a + np.flatnonzero(future[a:b])
            s = _prepare(ids[a], ds[hist], y[hist], stockout[hist], multiplier[hist], ds[fut], multiplier[fut], cfg)
            series.append(s)
            _backtest(index, s, cfg, items)
        _add_intervals([item.fc for item in items if item.fc is not None], cfg)
        scores = _score_items(items, series, cfg)
        finals = []
        for s in series:
            chosen, reason, chosen_mase = _choose(s, items, scores)
            h = len(s.future_ds)
            try:
                fc = _fit(chosen, s.adjusted, h, cfg)
            except Exception as exc:
                fc, reason = _fit("window_average", s.adjusted, h, cfg), f"{chosen} failed ({exc}); window average"
                chosen = "window_average"
            finals.append((chosen, reason, chosen_mase, fc))
        _add_intervals([fc for *_, fc in finals], cfg)
    frames = [_accuracy_frame(items, series, scores), _forecast_frame(series, finals)]
    frames.append(pd.DataFrame([_choice_row(s, *final[:3]) for s, final in zip(series, finals, strict=True)]))
    out = pd.concat([f.reindex(columns=OUTPUT_COLUMNS) for f in frames if len(f)], ignore_index=True)
    out = out.reindex(columns=OUTPUT_COLUMNS)
    for column in ("horizon_day", "window", "eval_days", "history_days", "stockout_days", "windows"):
        out[column] = out[column].astype("Int32")
    out["ds"] = pd.to_datetime(out["ds"]).dt.date
    return out


def _accuracy_frame(items: list[_Item], series: list[_Series], scores: dict[str, np.ndarray]) -> pd.DataFrame:
    failed = np.array([item.fc is None for item in items], dtype=bool)
    frame = pd.DataFrame(
        {
            "kind": "accuracy",
            "series_id": [series[item.series].series_id for item in items],
            "model": [item.model for item in items],
            "window": [item.window for item in items],
            "ds": [None if item.fc is None else series[item.series].ds[item.cut] for item in items],
            **{key: scores[key] for key in _SCORE_KEYS},
            "reason": [item.reason for item in items],
        }
    )
    frame.loc[failed, "eval_days"] = np.nan
    return frame


def _forecast_frame(series: list[_Series], finals: list[tuple[str, str, float, dict[str, np.ndarray]]]) -> pd.DataFrame:
    if not series:
        return pd.DataFrame()
    ordered = [_ordered(fc, s.future_mult) for s, (*_, fc) in zip(series, finals, strict=True)]
    sizes = [len(s.future_ds) for s in series]
    return pd.DataFrame(
        {
            "kind": "forecast",
            "series_id": np.repeat([s.series_id for s in series], sizes),
            "model": np.repeat([final[0] for final in finals], sizes),
            "ds": np.concatenate([s.future_ds for s in series]),
            "horizon_day": np.concatenate([np.arange(1, n + 1) for n in sizes]),
            **{k: np.concatenate([fc[k] for fc in ordered]) for k in ("point", "lo80", "hi80", "lo95", "hi95")},
        }
    )


def _choice_row(s: _Series, chosen: str, reason: str, chosen_mase: float) -> dict[str, Any]:
    recent = s.adjusted[-90:]
    return {
        "kind": "choice",
        "series_id": s.series_id,
        "model": chosen,
        "mase": chosen_mase if np.isfinite(chosen_mase) else None,
        "demand_class": s.demand_class,
        "adi": s.adi if np.isfinite(s.adi) else None,
        "cv2": s.cv2,
        "history_days": len(s.adjusted),
        "stockout_days": int(s.stockout.sum()),
        "windows": s.windows,
        "mean_daily_demand": float(recent.mean()) if len(recent) else 0.0,
        "demand_std": float(recent.std()) if len(recent) > 1 else 0.0,
        "reason": reason,
    }


def numba_cache_dir(cache_root: os.PathLike | str) -> str:
    """Where numba-compiled code (if any model still uses numba) is cached between processes."""
    return os.path.join(os.fspath(cache_root), "numba")
