"""Forecast job settings: horizon, backtest windows, model menus per demand class, inventory policy."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

DEMAND_CLASSES = ("smooth", "erratic", "intermittent", "lumpy")
# Syntetos-Boylan-Croston cut-offs: average inter-demand interval and squared CV of non-zero demand sizes
ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str  # baseline | average | smoothing | intermittent
    native_intervals: bool  # the model gives its own 80/95% intervals; otherwise negative-binomial intervals
    expensive: bool = False  # spent only on series with enough volume (see ForecastConfig.min_volume_for_auto)


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("naive", "baseline", True),
        ModelSpec("seasonal_naive", "baseline", True),
        ModelSpec("window_average", "average", False),
        ModelSpec("ets", "smoothing", True, expensive=True),
        ModelSpec("theta", "smoothing", True, expensive=True),
        ModelSpec("arima", "smoothing", True, expensive=True),
        ModelSpec("croston", "intermittent", False),
        ModelSpec("sba", "intermittent", False),
        ModelSpec("tsb", "intermittent", False),
        ModelSpec("adida", "intermittent", False),
    )
}

# seasonal naive is backtested on every series as the benchmark, but not chosen for sparse ones: it copies last
# week's zeros and spikes, which wins MAE-based scores on very sparse series while saying nothing about the rate
BENCHMARK_MODEL = "seasonal_naive"
_INTERMITTENT_MENU = ("window_average", "croston", "sba", "tsb", "adida")
MENUS: dict[str, dict[str, tuple[str, ...]]] = {
    # AutoETS + AutoTheta where volume justifies them; Croston-type models for sparse series
    "default": {
        "smooth": ("seasonal_naive", "window_average", "ets", "theta"),
        "erratic": ("seasonal_naive", "window_average", "ets", "theta"),
        "intermittent": _INTERMITTENT_MENU,
        "lumpy": _INTERMITTENT_MENU,
    },
    # no AutoETS (its fits dominate the cost): AutoTheta is the only expensive model
    "fast": {
        "smooth": ("seasonal_naive", "window_average", "theta"),
        "erratic": ("seasonal_naive", "window_average", "theta"),
        "intermittent": _INTERMITTENT_MENU,
        "lumpy": _INTERMITTENT_MENU,
    },
    # AutoARIMA too (~2.6 s per 730-day fit): for small portfolios
    "full": {
        "smooth": ("naive", "seasonal_naive", "window_average", "ets", "theta", "arima"),
        "erratic": ("naive", "seasonal_naive", "window_average", "ets", "theta", "arima"),
        "intermittent": (*_INTERMITTENT_MENU, "naive"),
        "lumpy": (*_INTERMITTENT_MENU, "naive"),
    },
}


@dataclass(frozen=True)
class ForecastConfig:
    horizon: int = 30
    windows: int = 3  # rolling-origin backtest windows of `horizon` days each (fewer when history is short)
    menu: str = "default"
    menus: dict[str, tuple[str, ...]] = field(default_factory=dict)  # overrides per demand class
    season_length: int = 7
    min_train_days: int = 28  # a backtest window needs at least this much history before its cutoff
    max_train_days: int = 730  # expensive models see at most this much history
    min_volume_for_auto: float = 0.5  # mean units/day below which expensive models are left out
    window_average_days: int = 28
    batch_size: int = 250  # series per applyInPandas group
    levels: tuple[int, int] = (80, 95)
    # inventory policy
    service_level: float = 0.95
    origin_lead_time_days: float = 7.0  # supplier lead time of origin (CN-*) warehouses: no data on it
    review_period_days: int = 30  # order up to reorder point + this many days of demand
    overstock_days: float = 90.0
    slow_mover_units_per_day: float = 0.05

    def menu_for(self, demand_class: str) -> tuple[str, ...]:
        menu = self.menus.get(demand_class) or MENUS[self.menu][demand_class]
        return tuple(menu)

    def validate(self) -> ForecastConfig:
        if self.menu not in MENUS:
            raise ValueError(f"unknown model menu {self.menu!r}; known: {', '.join(MENUS)}")
        for demand_class, names in self.menus.items():
            if demand_class not in DEMAND_CLASSES:
                raise ValueError(f"unknown demand class {demand_class!r}; known: {', '.join(DEMAND_CLASSES)}")
            unknown = [n for n in names if n not in MODELS]
            if unknown or not names:
                raise ValueError(
                    f"models for {demand_class}: unknown {', '.join(unknown) or '(empty list)'}; "
                    f"known: {', '.join(MODELS)}"
                )
        if not 1 <= self.horizon <= 365:
            raise ValueError(f"horizon must be 1..365 days, not {self.horizon}")
        if not 0 <= self.windows <= 12:
            raise ValueError(f"windows must be 0..12, not {self.windows}")
        if not 0.5 < self.service_level < 1:
            raise ValueError(f"service level must be between 0.5 and 1, not {self.service_level}")
        return self

    def with_options(self, **options: Any) -> ForecastConfig:
        return replace(self, **{k: v for k, v in options.items() if v is not None}).validate()


def parse_models(specs: tuple[str, ...] | list[str] | None) -> tuple[str | None, dict[str, tuple[str, ...]]]:
    """``--models`` values: a menu name (``default``/``fast``/``full``) and/or ``class=model,model`` overrides;
    ``all=...`` sets every class."""
    menu: str | None = None
    menus: dict[str, tuple[str, ...]] = {}
    for spec in specs or ():
        if "=" not in spec:
            menu = spec.strip()
            continue
        key, _, names = spec.partition("=")
        models = tuple(n.strip() for n in names.split(",") if n.strip())
        for demand_class in DEMAND_CLASSES if key.strip() == "all" else (key.strip(),):
            menus[demand_class] = models
    return menu, menus
