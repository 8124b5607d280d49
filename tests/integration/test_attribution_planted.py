"""The attribution job recovers the simulator's planted channel effects, in a world of its own with the effects
exaggerated (effect_scale 8: the strongest channels convert 95% of the users they touch, marketplace_ads 0%).

What Markov can and cannot see here: the simulator's zero-effect channel (marketplace_ads) is aimed at buyers who
would have bought anyway, so it carries as many orders as a strong channel and its *total* credit (its removal
effect) stays high under every path-based model; that is the point of planting it. What a path model does
recover is how strongly a channel's touches lead to conversion: Markov credit per touch of the channel. That is
what this test checks, for every Markov order.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from deltalake import DeltaTable

from lakehouse import warehouse
from lakehouse.settings import get_settings

pytestmark = pytest.mark.integration

EFFECT_SCALE = 8.0
DAYS = 45


@pytest.fixture(scope="module")
def planted(spark, tmp_path_factory):
    """A 45-day tiny world with exaggerated effects: simulated, ingested, silver built (only what touchpoints and
    order_lines need) and the attribution job run, all in a LAKEHOUSE_HOME of its own."""
    from ingestion.run import ingest
    from simulator import generate
    from spark_jobs.attribution.job import run

    settings = replace(get_settings(), home=tmp_path_factory.mktemp("planted_home"))
    settings.paths.ensure()
    generate(settings.paths.landing, scale="tiny", seed=7, days=DAYS, defect_rate=0.0, effect_scale=EFFECT_SCALE)
    ingest(settings=settings)
    warehouse.build("silver", select=["+touchpoints", "+order_lines"], settings=settings, echo=False)
    summary = run(settings, echo=False)
    truth = json.loads((settings.paths.landing / "_simulator" / "ground_truth.json").read_text())
    return settings, summary, truth


def _table(settings, name: str):
    return DeltaTable(settings.paths.table("gold", name)).to_pandas()


def test_markov_credits_touches_of_high_effect_channels_above_the_zero_effect_channel(planted):
    settings, summary, truth = planted
    effects = {channel: c["planted_effect"] for channel, c in truth["channels"].items()}
    zero = truth["zero_effect_channel"]
    assert effects[zero] == 0.0
    strongest = max(effects.values())
    high = sorted(c for c, e in effects.items() if e >= 0.9 * strongest)
    assert len(high) >= 2, effects

    touches = DeltaTable(settings.paths.table("silver", "touchpoints")).to_pandas(columns=["channel"])
    per_channel = touches["channel"].value_counts()
    attribution = _table(settings, "attribution")
    aggregate = _table(settings, "attribution_removal_effects")
    markov_models = sorted(m for m in attribution["model"].unique() if m.startswith("markov_"))
    assert markov_models == ["markov_1", "markov_2", "markov_3"], summary

    for model in markov_models:
        per_conversion = attribution[attribution["model"] == model].groupby("channel")["conversions"].sum()
        allocations = {
            "per-conversion": per_conversion / per_channel,
            "aggregate": aggregate[aggregate["model"] == model].set_index("channel")["conversions"] / per_channel,
        }
        for allocation, per_touch in allocations.items():
            for channel in high:
                assert per_touch[channel] > per_touch[zero], (
                    f"{model} ({allocation}): {channel} (planted {effects[channel]}) earns {per_touch[channel]:.3f} "
                    f"conversions per touch, not more than {zero} (planted 0) with {per_touch[zero]:.3f}"
                )
