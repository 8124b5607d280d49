"""Run the simulator: build the world, step day by day, plant defects, write files, state and ground truth."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import shutil
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from simulator import reference as ref
from simulator.defects import plant_records
from simulator.engine import State, initial_state, simulate_day
from simulator.render import FileOut
from simulator.rng import day_rng
from simulator.world import SCALES, World, build_world

STATE_DIR = "_simulator"
FEED_DIRS = ("orders", "clicks", "ad_spend", "marketing_costs", "inventory", "logistics", "reference", STATE_DIR)
GZIP_LEVEL = 5
FORMAT_VERSION = 1


class SimulatorError(RuntimeError):
    """The simulator cannot do what was asked (e.g. --next-day without a world)."""


@dataclass
class RunSummary:
    out: Path
    start: date
    end: date
    days_generated: list[date]
    files: Counter = field(default_factory=Counter)
    records: Counter = field(default_factory=Counter)
    defects: Counter = field(default_factory=Counter)
    events: int = 0
    orders: int = 0
    seconds: float = 0.0


class _Writer:
    """Serialises and writes files on a worker thread (zlib releases the GIL), keeping output deterministic."""

    def __init__(self, root: Path, level: int = GZIP_LEVEL) -> None:
        self.root = root
        self.level = level
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.pending: list[Future] = []

    def submit(self, rel: str, data: bytes, compress: bool) -> None:
        if len(self.pending) > 64:
            for fut in self.pending:
                fut.result()
            self.pending.clear()
        self.pending.append(self.pool.submit(self._write, rel, data, compress))

    def _write(self, rel: str, data: bytes, compress: bool) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(data, compresslevel=self.level, mtime=0) if compress else data)

    def close(self) -> None:
        for fut in self.pending:
            fut.result()
        self.pool.shutdown()


def serialise(f: FileOut) -> bytes:
    if f.fmt == "ndjson":
        text = "".join(line + "\n" for line in f.lines) if f.lines else ""
    elif f.fmt == "csv":
        text = "\n".join([*f.header, *f.lines]) + "\n"
    elif f.fmt == "json_array":
        text = "[\n" + ",\n".join(f.lines) + "\n]\n" if f.lines else "[]\n"
    else:
        text = "\n".join(f.lines) + "\n"
    return text.encode("utf-8")


def _resend_name(path: str) -> str:
    p = Path(path)
    name = p.name
    stem, _, ext = name.partition(".")
    return str(p.with_name(f"{stem}-resend.{ext}"))


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _plant_and_write(
    files: list[FileOut], d: date, seed: int, rate: float, writer: _Writer
) -> tuple[list[dict], list[list[str]]]:
    rng = day_rng(seed, d, "defects")
    frng = day_rng(seed, d, "files")
    defects: list[dict] = []
    arrivals: list[list[str]] = []
    for f in files:
        defects += plant_records(f, rate, rng)
        data = serialise(f)
        arrival = f.arrival
        if f.defect_kinds and f.lines and frng.random() < rate * 4:
            # late, but never more than 3 days after the event date (a 7-day lookback catches it)
            room = 3 - (arrival.date() - d).days
            delay = int(frng.integers(1, room + 1)) if room >= 1 else 0
            arrival = arrival + timedelta(days=delay)
            defects.append(
                {
                    "feed": f.feed,
                    "file": f.path,
                    "kind": "late_file",
                    "line": None,
                    "key": None,
                    "event_date": d.isoformat(),
                    "arrival_date": arrival.date().isoformat(),
                    "days_late": (arrival.date() - d).days,
                    "delayed_by_days": delay,
                }
            )
        writer.submit(f.path, data, f.compress)
        arrivals.append([f.path, f.feed, d.isoformat(), _iso(arrival)])
        if f.defect_kinds and f.lines and frng.random() < rate * 2:
            copy = _resend_name(f.path)
            again = arrival + timedelta(hours=int(frng.integers(2, 30)))
            writer.submit(copy, data, f.compress)
            arrivals.append([copy, f.feed, d.isoformat(), _iso(again)])
            defects.append(
                {
                    "feed": f.feed,
                    "file": copy,
                    "kind": "duplicate_file",
                    "line": None,
                    "key": None,
                    "duplicate_of": f.path,
                }
            )
    return defects, arrivals


def _load_json(path: Path, default):
    return json.loads(path.read_text()) if path.exists() else default


def _write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=False, ensure_ascii=False) + "\n")
    tmp.replace(path)


def _demand_params(world: World) -> pl.DataFrame:
    n_mkt = world.base_demand.shape[1]
    skus = world.products.select("sku", "seller_id", "category").with_row_index("sku_idx")
    markets = pl.DataFrame({"market": ref.MARKET_CODES}).with_row_index("market_idx")
    warehouses = pl.Series([w[0] for w in ref.WAREHOUSES])
    return (
        skus.join(markets, how="cross")
        .sort("sku_idx", "market_idx")
        .with_columns(
            base_mean_units_per_day=pl.Series(world.base_demand.ravel()),
            nb_dispersion_k=pl.Series(np.repeat(world.dispersion, n_mkt)),
            fulfilment_warehouse=warehouses.gather(pl.Series(world.fulfil_wh.ravel())),
        )
        .drop("sku_idx", "market_idx")
    )


def _ground_truth(world: World, st: State, cfg: dict, days: list[dict], defect_files: list[str]) -> dict:
    from simulator.engine import DOW

    chans = {}
    for i, c in enumerate(ref.CHANNELS):
        acq, conv, caused = (int(x) for x in st.channel_stats[i])
        chans[c] = {
            "paid": c in ref.PAID_CHANNELS,
            "platform": ref.PLATFORM_OF.get(c),
            "planted_effect": world.effect(c),
            "cause_share": ref.CAUSE_SHARE.get(c, 0.0),
            "baseline_journey_share": ref.BASELINE_JOURNEY.get(c, 0.0),
            "acquired_users": acq,
            "converted_users": conv,
            "acquisition_conversion_rate": round(conv / acq, 5) if acq else None,
            "caused_orders": caused,
        }
    lanes = []
    for w, wh in enumerate(ref.WAREHOUSES):
        for m, mc in enumerate(ref.MARKET_CODES):
            delivered, on_time = (int(x) for x in st.lane_stats[w, m])
            if w >= 3 and not (world.fulfil_wh[:, m] == w).any():
                continue
            lanes.append(
                {
                    "origin": wh[0],
                    "destination": mc,
                    "base_transit_days": round(float(world.lane_transit[w, m]), 2),
                    "promised_days": {s: int(world.lane_promise[w, m, i]) for i, s in enumerate(ref.SERVICE_LEVELS)},
                    "customs_hold_probability": float(world.lane_hold[m]) if w < 3 else 0.0,
                    "delivered": delivered,
                    "on_time": on_time,
                    "on_time_rate": round(on_time / delivered, 4) if delivered else None,
                }
            )
    active = st.active_days > 0
    intermittent = (st.zero_days * 2 > st.active_days) & active
    counts: Counter = Counter(cfg.get("defect_counts", {}))
    return {
        "format_version": FORMAT_VERSION,
        "parameters": {
            "seed": cfg["seed"],
            "scale": cfg["scale"],
            "start": cfg["start"],
            "end": (world.start + timedelta(days=st.day - 1)).isoformat(),
            "days": st.day,
            "defect_rate": cfg["defect_rate"],
            "effect_scale": cfg["effect_scale"],
            "sellers": len(world.sellers),
            "skus": world.n_sku,
            "markets": world.n_mkt,
            "campaigns": len(world.campaigns),
        },
        "channels": chans,
        "zero_effect_channel": "marketplace_ads",
        "attribution_notes": (
            "planted_effect = probability that a touched user who would not have bought anyway converts because "
            "of the channel; acquisition_conversion_rate = converted / acquired users by the channel of their first "
            "session (anonymous_id). marketplace_ads has zero effect but mostly reaches would-buy-anyway users."
        ),
        "demand": {
            "model": "units ~ NegativeBinomial(mean = base_mean x day_of_week x holiday x category_trend x seller "
            "factor, shape k); sales = min(demand, available stock at the serving warehouse)",
            "params_file": "demand_params.parquet",
            "lost_demand_file": "lost_demand.parquet",
            "day_of_week_multiplier": [round(float(x), 3) for x in DOW],
            "category_trend_per_year": {
                c: round(float(t), 4) for c, t in zip(ref.CATEGORY_NAMES, world.category_trend, strict=True)
            },
            "seller_promo": "a seller is on promotion in an ISO-week-like block with p=0.12: demand x1.5, "
            "discount 10-30%",
            "dormant_multiplier": 0.05,
            "series": int(active.sum()),
            "intermittent_series": int(intermittent.sum()),
            "intermittent_share": round(float(intermittent.sum() / max(1, active.sum())), 4),
            "intermittent_definition": "more than half of the days with the seller active have zero demand",
        },
        "lanes": lanes,
        "schema_drifts": [
            {
                "feed": "ad_spend",
                "platform": "tiktok",
                "kind": "additive",
                "column": "conversion",
                "from_date": world.day_of(world.drift_additive_day).isoformat(),
                "present": st.day > world.drift_additive_day,
            },
            {
                "feed": "tracking",
                "carrier": "yunexpress",
                "kind": "breaking",
                "renamed": {"event_time": "event_timestamp"},
                "from_date": world.day_of(world.drift_breaking_day).isoformat(),
                "present": st.day > world.drift_breaking_day,
            },
        ],
        "defects": {"total": sum(counts.values()), "counts": dict(sorted(counts.items())), "files": defect_files},
        "arrivals_file": "arrivals.json",
        "days": days,
    }


def load_ground_truth(out: Path, with_defects: bool = False) -> dict:
    """The ground truth of a generated world; ``with_defects`` also loads every per-day defect list."""
    base = Path(out) / STATE_DIR
    gt = json.loads((base / "ground_truth.json").read_text())
    if with_defects:
        gt["defect_list"] = [d for f in gt["defects"]["files"] for d in json.loads((base / f).read_text())]
    return gt


def generate(
    out: Path | str,
    scale: str = "tiny",
    seed: int = 42,
    start: date | None = None,
    days: int | None = None,
    defect_rate: float = 0.005,
    effect_scale: float = 1.0,
    next_day: bool = False,
    end: date | None = None,
    progress: Callable[[int, int, date, int], None] | None = None,
) -> RunSummary:
    """Generate a world into ``out`` (a landing root). ``next_day`` appends days to an existing world.

    Without ``start`` the world ends on ``end`` (default: the day before the settings' as-of time).
    """
    import time

    started = time.perf_counter()
    out = Path(out)
    sim = out / STATE_DIR
    if next_day:
        state_file = sim / "state.pkl"
        if not state_file.exists():
            raise SimulatorError(f"no simulated world at {out} (missing {state_file}); run without --next-day first")
        with state_file.open("rb") as fh:
            cfg, st = pickle.load(fh)
        world = build_world(cfg["seed"], cfg["scale"], date.fromisoformat(cfg["start"]), cfg["effect_scale"])
        n_days = days or 1
        gt_days = _load_json(sim / "ground_truth.json", {}).get("days", [])
        defect_files = _load_json(sim / "ground_truth.json", {}).get("defects", {}).get("files", [])
        arrivals = _load_json(sim / "arrivals.json", {"files": []})["files"]
    else:
        if scale not in SCALES:
            raise SimulatorError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
        n_days = days or SCALES[scale].default_days
        if start is None:
            if end is None:
                from lakehouse.settings import get_settings

                end = get_settings().now().date() - timedelta(days=1)
            start = end - timedelta(days=n_days - 1)
        for sub in FEED_DIRS:
            if (out / sub).exists():
                shutil.rmtree(out / sub)
        sim.mkdir(parents=True, exist_ok=True)
        cfg = {
            "seed": seed,
            "scale": scale,
            "start": start.isoformat(),
            "defect_rate": defect_rate,
            "effect_scale": effect_scale,
            "defect_counts": {},
        }
        world = build_world(seed, scale, start, effect_scale)
        st = initial_state(world)
        gt_days, defect_files, arrivals = [], [], []
        _demand_params(world).write_parquet(sim / "demand_params.parquet")
    (sim / "defects").mkdir(parents=True, exist_ok=True)
    first = world.day_of(st.day)
    summary = RunSummary(out=out, start=world.start, end=first, days_generated=[])
    writer = _Writer(out)
    lost_frames = []
    counts: Counter = Counter(cfg.get("defect_counts", {}))
    arrivals_before = len(arrivals)
    try:
        for i in range(n_days):
            d = world.day_of(st.day)
            files, truth, lost = simulate_day(world, st)
            defects, arr = _plant_and_write(files, d, cfg["seed"], cfg["defect_rate"], writer)
            rel = f"defects/dt={d.isoformat()}.json"
            (sim / rel).write_text(json.dumps(defects, ensure_ascii=False, separators=(",", ":")) + "\n")
            defect_files.append(rel)
            arrivals += arr
            for dfc in defects:
                counts[dfc["kind"]] += 1
                summary.defects[dfc["feed"]] += 1
            truth["defects"] = dict(sorted(Counter(x["kind"] for x in defects).items()))
            gt_days.append(truth)
            lost_frames.append(lost)
            for f in files:
                summary.files[f.feed] += 1
                summary.records[f.feed] += len(f.lines)
            summary.events += truth["clicks"]["events"]
            summary.orders += truth["orders"]["new_orders"]
            summary.days_generated.append(d)
            summary.end = d
            if progress is not None:
                progress(i + 1, n_days, d, len(files))
    finally:
        writer.close()
    # a landing zone's files carry their arrival time: readers order them by it (a resend after its original)
    for path, _feed, _day, arrival_ts in arrivals[arrivals_before:]:
        stamp = datetime.fromisoformat(arrival_ts).timestamp()
        os.utime(out / path, (stamp, stamp))
    cfg["defect_counts"] = dict(counts)
    sku = world.products["sku"].to_numpy()
    lost_all = pl.concat(lost_frames) if lost_frames else pl.DataFrame()
    if len(lost_all):
        lost_all = lost_all.select(
            "date",
            sku=pl.Series(sku[lost_all["sku_idx"].to_numpy()]),
            market=pl.Series(np.array(ref.MARKET_CODES)[lost_all["market_idx"].to_numpy()]),
            warehouse=pl.Series(np.array([w[0] for w in ref.WAREHOUSES])[lost_all["warehouse_idx"].to_numpy()]),
            lost_units=pl.col("lost_units"),
        )
    else:
        lost_all = pl.DataFrame(
            schema={
                "date": pl.Date,
                "sku": pl.String,
                "market": pl.String,
                "warehouse": pl.String,
                "lost_units": pl.Int64,
            }
        )
    lost_path = sim / "lost_demand.parquet"
    if next_day and lost_path.exists():
        lost_all = pl.concat([pl.read_parquet(lost_path), lost_all])
    lost_all.write_parquet(lost_path)
    arrivals.sort(key=lambda a: (a[3], a[0]))
    _write_json(
        sim / "arrivals.json",
        {
            "note": "every landing file with its event date (its partition) and when the source delivered it (UTC)",
            "columns": ["path", "feed", "event_date", "arrival_ts"],
            "files": arrivals,
        },
    )
    _write_json(sim / "ground_truth.json", _ground_truth(world, st, cfg, gt_days, defect_files))
    with (sim / "state.pkl.tmp").open("wb") as fh:
        pickle.dump((cfg, st), fh, protocol=5)
    (sim / "state.pkl.tmp").replace(sim / "state.pkl")
    summary.seconds = time.perf_counter() - started
    return summary
