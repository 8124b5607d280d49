"""Attribution models (spark_jobs.attribution.models): the issue's worked example, hand-computed chains with nulls
and revenue, higher orders against an independent fixed-point computation, conservation and per-conversion rules."""

from __future__ import annotations

import math
import random
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from spark_jobs.attribution import models
from spark_jobs.attribution.models import (
    HEURISTIC_MODELS,
    PathError,
    attribute_paths,
    heuristic,
    markov,
    markov_per_conversion,
    parse_path,
    per_conversion_share_frame,
    per_conversion_shares,
    time_decay_weights,
    touch_weights,
)

WORKED = pd.DataFrame(
    {
        "path": [parse_path("A > B > A > B > B > A"), parse_path("A > B > B > A > A"), parse_path("A > A")],
        "conversions": [1.0, 1.0, 1.0],
        "revenue": [10.0, 20.0, 30.0],
        "nulls": [0.0, 0.0, 0.0],
    }
)

# A > B: 2 conversions (revenue 100) and 2 nulls; B: 4 nulls; A: 2 conversions (revenue 40). Computed by hand in
# docs/attribution.md ("A worked example with nulls").
WITH_NULLS = pd.DataFrame(
    {
        "path": [("A", "B"), ("B",), ("A",)],
        "conversions": [2.0, 0.0, 2.0],
        "revenue": [100.0, 0.0, 40.0],
        "nulls": [2.0, 4.0, 0.0],
    }
)

CHANNELS = ["direct", "email", "organic", "paid_search", "social"]


def random_table(seed: int, rows: int = 60, max_len: int = 6) -> pd.DataFrame:
    rng = random.Random(seed)
    paths, conversions, revenue, nulls = [], [], [], []
    for _ in range(rows):
        path = tuple(rng.choice(CHANNELS) for _ in range(rng.randint(1, max_len)))
        conv = rng.choice([0, 0, 1, 2, 5])
        paths.append(path)
        conversions.append(float(conv))
        revenue.append(round(conv * rng.uniform(10, 90), 2))
        nulls.append(float(rng.choice([0, 1, 3, 8])))
    return pd.DataFrame({"path": paths, "conversions": conversions, "revenue": revenue, "nulls": nulls})


def as_dict(frame: pd.DataFrame, value: str = "conversions") -> dict[str, float]:
    return dict(zip(frame["channel"], frame[value], strict=True))


# --- parsing ---------------------------------------------------------------------------------------------------


def test_parse_path_strips_spaces_and_keeps_inner_ones():
    assert parse_path("  paid search >email>  direct ") == ("paid search", "email", "direct")
    assert parse_path("A") == ("A",)


@pytest.mark.parametrize(
    ("text", "rule"),
    [("", "path not empty"), ("   ", "path not empty"), ("a > > b", "no empty channel"), ("a >", "no empty channel")],
)
def test_parse_path_rejects_empty_parts(text, rule):
    with pytest.raises(PathError) as err:
        parse_path(text)
    assert err.value.rule == rule


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [("conversions", "-1", "not negative"), ("nulls", "x", "not a number"), ("revenue", "", "empty value")],
)
def test_bad_numbers_name_row_column_and_rule(column, value, rule):
    table = WORKED.astype({column: object})
    table.loc[2, column] = value
    with pytest.raises(PathError) as err:
        models.encode_paths(table)
    assert (err.value.row, err.value.column, err.value.rule) == (2, column, rule)


def test_missing_columns_and_bad_paths_are_named():
    with pytest.raises(PathError, match="column conversions: missing column"):
        models.encode_paths(WORKED.drop(columns=["conversions"]))
    bad = WORKED.assign(path=["A > B", "A >  > B", "A"])
    with pytest.raises(PathError) as err:
        models.encode_paths(bad)
    assert (err.value.row, err.value.column) == (1, "path")
    with pytest.raises(PathError, match="no conversions"):
        markov(WORKED.assign(conversions=0.0, revenue=0.0, nulls=1.0))


# --- the worked example --------------------------------------------------------------------------------


def test_worked_example_markov_order_1():
    result = markov(WORKED, order=1)
    effects = as_dict(result.removal_effects, "removal_effect")
    assert effects == pytest.approx({"A": 1.0, "B": 0.5})
    assert as_dict(result.attribution) == pytest.approx({"A": 2.0, "B": 1.0})
    assert result.conversion_probability == pytest.approx(1.0)
    # repeated touches are one state (A > A is A), as in ChannelAttribution: no self-loops
    probabilities = {(r.from_state, r.to_state): r.probability for r in result.transitions.itertuples()}
    assert probabilities == {("(start)", "A"): 1.0, ("A", "(conversion)"): 0.5, ("A", "B"): 0.5, ("B", "A"): 1.0}
    per_conversion = markov_per_conversion(WORKED, result)
    assert as_dict(per_conversion) == pytest.approx({"A": 7 / 3, "B": 2 / 3})
    assert per_conversion["revenue"].sum() == pytest.approx(60.0)


def test_worked_example_first_and_last_touch():
    for model in ("first_touch", "last_touch"):
        assert as_dict(heuristic(WORKED, model)) == pytest.approx({"A": 3.0, "B": 0.0})


def test_worked_example_higher_orders_by_hand():
    # order 2 states: (start)->AA 1/3, (start)->AB 2/3; removing B leaves only AA, which converts: P_B = 1/3.
    # order 3: (start)->AA, ABA, ABB 1/3 each; again only AA survives. So RE_B = 2/3 at both orders.
    for order in (2, 3):
        result = markov(WORKED, order=order)
        assert as_dict(result.removal_effects, "removal_effect") == pytest.approx({"A": 1.0, "B": 2 / 3})
        assert as_dict(result.attribution) == pytest.approx({"A": 1.8, "B": 1.2})
    transitions = markov(WORKED, order=2).transitions
    start = transitions[transitions["from_state"] == "(start)"]
    assert dict(zip(start["to_state"], start["probability"], strict=True)) == pytest.approx(
        {"A > A": 1 / 3, "A > B": 2 / 3}
    )


# --- a hand-computed chain with nulls and revenue --------------------------------------------------------------


def test_markov_with_nulls_by_hand():
    result = markov(WITH_NULLS, order=1)
    # P(conv | B) = 2/8, P(conv | A) = 2/6 + 4/6 * 1/4 = 1/2, P = 6/10 * 1/2 + 4/10 * 1/4 = 0.4
    assert result.conversion_probability == pytest.approx(0.4)
    # without A: 4/10 * 1/4 = 0.1 -> RE 0.75; without B: 6/10 * 2/6 = 0.2 -> RE 0.5
    assert as_dict(result.removal_effects, "removal_effect") == pytest.approx({"A": 0.75, "B": 0.5})
    assert as_dict(result.attribution) == pytest.approx({"A": 4 * 0.6, "B": 4 * 0.4})
    # value chain: V(B) = 100/8, V(A) = 40/6 + 4/6 * 12.5 = 15, V = 0.6 * 15 + 0.4 * 12.5 = 14 (= 140 / 10 journeys)
    assert result.value_per_journey == pytest.approx(14.0)
    revenue_effects = as_dict(result.removal_effects, "revenue_removal_effect")
    assert revenue_effects == pytest.approx({"A": 9 / 14, "B": 10 / 14})
    assert as_dict(result.attribution, "revenue") == pytest.approx({"A": 140 * 9 / 19, "B": 140 * 10 / 19})
    # per conversion: A > B splits 0.6 / 0.4, the A path is all A
    per_conversion = markov_per_conversion(WITH_NULLS, result)
    assert as_dict(per_conversion) == pytest.approx({"A": 3.2, "B": 0.8})
    assert as_dict(per_conversion, "revenue") == pytest.approx({"A": 100.0, "B": 40.0})
    probabilities = {(r.from_state, r.to_state): r.probability for r in result.transitions.itertuples()}
    assert probabilities == pytest.approx(
        {
            ("(start)", "A"): 0.6,
            ("(start)", "B"): 0.4,
            ("A", "B"): 4 / 6,
            ("A", "(conversion)"): 2 / 6,
            ("B", "(conversion)"): 2 / 8,
            ("B", "(null)"): 6 / 8,
        }
    )


# --- higher orders against an independent computation ----------------------------------------------------------


def brute_force_removal_effects(table: pd.DataFrame, order: int) -> dict[str, float]:
    """Order-k removal effects written differently: dict-of-dicts chain, windows by slicing, fixed-point
    iteration instead of a linear solve."""
    counts: dict[tuple, dict] = defaultdict(lambda: defaultdict(float))
    for path, conv, nulls in zip(table["path"], table["conversions"], table["nulls"], strict=True):
        if conv + nulls == 0:
            continue
        windows = [path] if len(path) < order else [path[i : i + order] for i in range(len(path) - order + 1)]
        states = [w for i, w in enumerate(windows) if i == 0 or w != windows[i - 1]]
        previous: tuple = ("<start>",)
        for state in states:
            counts[previous][state] += conv + nulls
            previous = state
        counts[previous]["<conv>"] += conv
        counts[previous]["<null>"] += nulls

    def conversion_probability(removed: str | None) -> float:
        h: dict[tuple, float] = defaultdict(float)
        for _ in range(20_000):
            delta = 0.0
            for state, outs in counts.items():
                if removed is not None and removed in state:
                    continue
                total = sum(outs.values())
                value = sum(
                    n * (1.0 if to == "<conv>" else 0.0 if to == "<null>" or (removed in to) else h[to])
                    for to, n in outs.items()
                )
                value /= total
                delta = max(delta, abs(value - h[state]))
                h[state] = value
            if delta < 1e-15:
                break
        return h[("<start>",)]

    base = conversion_probability(None)
    channels = sorted({c for p in table["path"] for c in p})
    return {c: 1 - conversion_probability(c) / base for c in channels}


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("seed", [1, 2])
def test_removal_effects_match_fixed_point_iteration(order, seed):
    table = random_table(seed, rows=40, max_len=5)
    expected = brute_force_removal_effects(table, order)
    result = markov(table, order=order)
    assert as_dict(result.removal_effects, "removal_effect") == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_chain_reproduces_observed_rates(order):
    table = random_table(7)
    journeys = (table["conversions"] + table["nulls"]).sum()
    result = markov(table, order=order)
    # the chain estimated from the journeys converts at the observed rate and earns the observed revenue per journey
    assert result.conversion_probability == pytest.approx(table["conversions"].sum() / journeys)
    assert result.value_per_journey == pytest.approx(table["revenue"].sum() / journeys)
    sums = result.transitions.groupby("from_state")["probability"].sum()
    assert np.allclose(sums, 1.0)
    assert set(result.transitions["to_state"]) >= {"(conversion)", "(null)"}
    assert result.removal_effects["normalized"].sum() == pytest.approx(1.0)


# --- conservation and per-conversion rules ---------------------------------------------------------------------


def test_every_model_conserves_conversions_and_revenue():
    table = random_table(3, rows=200)
    result = attribute_paths(table, orders=(1, 2, 3))
    assert list(dict.fromkeys(result["model"])) == [*HEURISTIC_MODELS, "markov_1", "markov_2", "markov_3"]
    totals = result.groupby("model")[["conversions", "revenue"]].sum()
    assert np.allclose(totals["conversions"], table["conversions"].sum())
    assert np.allclose(totals["revenue"], table["revenue"].sum())
    assert (result[["conversions", "revenue"]] >= 0).all().all()


@pytest.mark.parametrize("model", HEURISTIC_MODELS)
def test_heuristic_credit_of_each_conversion_sums_to_one_on_its_own_path(model):
    table = random_table(4, rows=120)
    enc = models.encode_paths(table)
    weights = touch_weights(enc, model, direct_channel="direct", position_weights=(0.3, 0.5, 0.2))
    per_path = np.add.reduceat(weights, enc.starts)
    assert np.allclose(per_path, 1.0)
    assert (weights >= 0).all()
    # the credited channels are the path's own: credit by (path, channel) only where the channel is on the path
    for i, path in enumerate(table["path"]):
        start, stop = enc.starts[i], enc.starts[i] + enc.lengths[i]
        credited = {enc.channels[c] for c, w in zip(enc.touches[start:stop], weights[start:stop], strict=True) if w}
        assert credited <= set(path)


def test_per_conversion_markov_shares_sum_to_one_on_own_channels():
    table = random_table(5, rows=150)
    effects = markov(table, order=2).removal_effect_map()
    shares = per_conversion_shares(list(table["path"]), effects)
    assert len(shares) == len(table)
    for path, share in zip(table["path"], shares, strict=True):
        assert set(share) == set(path)
        assert math.isclose(sum(share.values()), 1.0)
        total = sum(effects[c] for c in set(path))
        if total > 0:
            for channel, value in share.items():
                assert value == pytest.approx(effects[channel] / total)
    frame = per_conversion_share_frame(list(table["path"]), effects)
    assert frame.groupby("path_index")["share"].sum().to_numpy() == pytest.approx(np.ones(len(table)))


def test_per_conversion_all_zero_effects_split_equally_and_unknown_channels_fail():
    assert per_conversion_shares([("a", "b", "a"), ("c",)], {"a": 0.0, "b": 0.0, "c": 0.5}) == [
        {"a": 0.5, "b": 0.5},
        {"c": 1.0},
    ]
    with pytest.raises(ValueError, match="no removal effect for channel"):
        per_conversion_shares([("a", "z")], {"a": 1.0})


def test_last_non_direct_and_position_based_rules():
    table = pd.DataFrame(
        {
            "path": [("direct", "B", "direct"), ("direct", "direct"), ("A",), ("A", "B"), ("A", "B", "C", "D")],
            "conversions": [1.0, 1.0, 1.0, 1.0, 1.0],
        }
    )
    assert as_dict(heuristic(table, "last_non_direct")) == pytest.approx(
        {"A": 1.0, "B": 2.0, "C": 0.0, "D": 1.0, "direct": 1.0}
    )
    weights = touch_weights(table, "position_based", position_weights=(0.6, 0.2, 0.2))
    assert weights.tolist() == pytest.approx([0.6, 0.2, 0.2, 0.75, 0.25, 1.0, 0.75, 0.25, 0.6, 0.1, 0.1, 0.2])
    default = touch_weights(table, "position_based")
    assert default[5:8].tolist() == pytest.approx([1.0, 0.5, 0.5])
    with pytest.raises(ValueError, match="sum to 1"):
        touch_weights(table, "position_based", position_weights=(0.5, 0.5, 0.5))


def test_linear_counts_every_touch():
    table = pd.DataFrame({"path": [("A", "B", "A", "C")], "conversions": [2.0], "revenue": [8.0]})
    assert as_dict(heuristic(table, "linear")) == pytest.approx({"A": 1.0, "B": 0.5, "C": 0.5})
    assert as_dict(heuristic(table, "linear"), "revenue") == pytest.approx({"A": 4.0, "B": 2.0, "C": 2.0})


def test_time_decay_weights():
    assert time_decay_weights(np.array([0.0, 7.0])).tolist() == pytest.approx([2 / 3, 1 / 3])
    weights = time_decay_weights([1.0, 3.0, 5.0], half_life_days=2.0)
    assert weights.tolist() == pytest.approx([4 / 7, 2 / 7, 1 / 7])
    assert time_decay_weights([5000.0, 5001.0]).sum() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        time_decay_weights([-1.0])
    with pytest.raises(ValueError):
        time_decay_weights([1.0], half_life_days=0)


def test_output_is_deterministic_and_independent_of_row_order_and_path_form():
    table = random_table(6)
    first = attribute_paths(table)
    shuffled = table.sample(frac=1.0, random_state=3).reset_index(drop=True)
    as_text = table.assign(path=[" > ".join(p) for p in table["path"]])
    pd.testing.assert_frame_equal(first, attribute_paths(table))
    pd.testing.assert_frame_equal(first, attribute_paths(shuffled), check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(first, attribute_paths(as_text))
    a, b = markov(table, order=3), markov(shuffled, order=3)
    pd.testing.assert_frame_equal(a.transitions, b.transitions)
