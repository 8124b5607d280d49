"""Marketing attribution models on aggregated journeys: heuristics and an exactly solved Markov chain.

Pure Python (numpy, scipy, pandas): the ``lakehouse attribution --paths`` mode and the Spark job both call it.

A *journey table* has one row per distinct path (or per path and segment) with the columns

- ``path``: the ordered channel touches before the journey ended, a tuple of channel names (or a string
  ``"a > b > c"``, parsed by :func:`parse_path`),
- ``conversions``: converting journeys that followed this path,
- ``revenue``: their revenue (reporting currency),
- ``nulls``: non-converting journeys that followed this path.

Every model distributes ``conversions`` and ``revenue`` over channels so that each model's totals equal the table's
totals. The heuristic models split each conversion over its own path's touches (first touch, last touch, last
non-direct touch, linear, position-based). The Markov model (order 1 to 3) estimates a transition matrix from all
journeys, solves the absorbing chain exactly with sparse linear algebra, and derives each channel's *removal effect*:
the share of conversions lost when every state containing the channel is redirected to the null state. Its state
construction follows the ``ChannelAttribution`` package so the numbers are comparable; see ``docs/attribution.md``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.linalg import splu

PATH_SEP = ">"
START_STATE = "(start)"
CONVERSION_STATE = "(conversion)"
NULL_STATE = "(null)"
HEURISTIC_MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "position_based")
MAX_ORDER = 3
DEFAULT_POSITION_WEIGHTS = (0.4, 0.2, 0.4)

_RESULT_COLUMNS = ["channel", "conversions", "revenue"]
REMOVAL_EFFECT_COLUMNS = ["channel", "removal_effect", "normalized", "revenue_removal_effect", "revenue_normalized"]
TRANSITION_COLUMNS = ["from_state", "to_state", "count", "probability"]
_NUMBER_COLUMNS = ("conversions", "revenue", "nulls")


class PathError(ValueError):
    """A journey table or path breaks a rule. ``row`` is the 0-based row position in the table (None for a single
    path), ``column`` the offending column, ``rule`` a short name of the broken rule; ``message`` is the text
    without that context (``str(error)`` has it)."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None, rule: str = "") -> None:
        where = ", ".join(
            part for part in (f"row {row}" if row is not None else "", f"column {column}" if column else "") if part
        )
        super().__init__(f"{where}: {message} [rule: {rule}]" if where else message)
        self.message = message
        self.row = row
        self.column = column
        self.rule = rule


def parse_path(text: str) -> tuple[str, ...]:
    """Split ``"a > b > c"`` into ``("a", "b", "c")``: channels separated by ``>``, surrounding spaces ignored.

    Raises :class:`PathError` for an empty path or an empty channel (``"a > > b"``, ``"a >"``).
    """
    if not isinstance(text, str):
        raise PathError(f"path must be text, got {type(text).__name__}", rule="path is text")
    parts = tuple(part.strip() for part in text.split(PATH_SEP))
    if parts == ("",):
        raise PathError("empty path: a journey needs at least one channel", rule="path not empty")
    for position, part in enumerate(parts, start=1):
        if not part:
            raise PathError(
                f"empty channel at position {position} of path {text!r} (channels are separated by '{PATH_SEP}')",
                rule="no empty channel",
            )
    return parts


def format_path(channels: Sequence[str]) -> str:
    """The inverse of :func:`parse_path`: ``("a", "b")`` -> ``"a > b"``."""
    return f" {PATH_SEP} ".join(channels)


def _as_channels(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return parse_path(value)
    if isinstance(value, tuple | list | np.ndarray):
        channels = tuple(value)
        if not channels:
            raise PathError("empty path: a journey needs at least one channel", rule="path not empty")
        for position, channel in enumerate(channels, start=1):
            if not isinstance(channel, str) or not channel.strip() or PATH_SEP in channel:
                raise PathError(
                    f"channel {channel!r} at position {position} is not a non-empty name without '{PATH_SEP}'",
                    rule="valid channel name",
                )
        return tuple(c.strip() for c in channels)
    raise PathError(f"path must be a tuple of channels or text, got {type(value).__name__}", rule="path is text")


@dataclass(frozen=True)
class EncodedPaths:
    """A journey table as flat arrays: ``touches[starts[i]:starts[i] + lengths[i]]`` are path ``i``'s channel ids,
    indexes into ``channels`` (sorted names)."""

    channels: list[str]
    touches: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    conversions: np.ndarray
    revenue: np.ndarray
    nulls: np.ndarray

    @property
    def n_paths(self) -> int:
        return len(self.lengths)

    def path_of_touch(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_paths), self.lengths)

    def position_of_touch(self) -> np.ndarray:
        return np.arange(len(self.touches)) - np.repeat(self.starts, self.lengths)


def _numbers(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, PathError | None]:
    """The column as floats and the error of its first invalid row (not a finite number, or negative), if any; a
    missing optional column is zeros."""
    if column not in frame.columns:
        if column == "conversions":
            have = ", ".join(map(str, frame.columns))
            return np.zeros(0), PathError(f"missing column (have: {have})", column=column, rule="required column")
        return np.zeros(len(frame)), None
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    invalid = ~np.isfinite(values) | (values < 0)
    if not invalid.any():
        return values, None
    row = int(np.flatnonzero(invalid)[0])
    shown, count = raw.iloc[row], int(invalid.sum())
    if np.isfinite(values[row]):
        message, rule = f"{values[row]:g} is negative", "not negative"
    elif shown is None or (isinstance(shown, str) and not shown.strip()):
        message, rule = "empty value", "empty value"
    else:
        message, rule = f"{shown!r} is not a finite number", "not a number"
    return values, PathError(f"{message} ({count} invalid row(s) in this column)", row=row, column=column, rule=rule)


def encode_paths(paths: pd.DataFrame | EncodedPaths) -> EncodedPaths:
    """Validate a journey table and encode it as flat arrays (see the module docstring for the columns).

    ``revenue`` and ``nulls`` may be absent (zeros). Raises :class:`PathError` naming the row, column and rule.
    """
    if isinstance(paths, EncodedPaths):
        return paths
    if "path" not in paths.columns:
        raise PathError(
            f"missing column (have: {', '.join(map(str, paths.columns))})", column="path", rule="required column"
        )
    (conversions, bad_conversions), (revenue, bad_revenue), (nulls, bad_nulls) = (
        _numbers(paths, c) for c in _NUMBER_COLUMNS
    )
    errors = [e for e in (bad_conversions, bad_revenue, bad_nulls) if e is not None]
    if not errors:
        orphan = (revenue > 0) & (conversions == 0)
        if orphan.any():
            row = int(np.flatnonzero(orphan)[0])
            message = f"{revenue[row]:g} on a path with no conversions"
            errors.append(PathError(message, row=row, column="revenue", rule="revenue needs conversions"))
    try:
        channels, touches, starts, lengths = _encode_path_column(paths["path"].tolist())
    except PathError as exc:
        errors.append(exc)
    if errors:  # the first bad row; on that row the path's error first
        raise min(errors, key=lambda e: (-1 if e.row is None else e.row, e.column != "path"))
    return EncodedPaths(channels, touches, starts, lengths, conversions, revenue, nulls)


def _encode_path_column(raw_paths: list) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Parse paths (tuples or text) into sorted channel names, flat channel ids, path offsets and lengths."""
    encoded = _encode_text_paths(raw_paths)
    if encoded is not None:
        return encoded
    try:
        parsed = [_as_channels(p) for p in raw_paths]
    except PathError:
        _raise_first_bad_path(raw_paths)
        raise
    lengths = np.fromiter(map(len, parsed), dtype=np.int64, count=len(parsed))
    flat = np.array(list(itertools.chain.from_iterable(parsed)), dtype=object)
    return _factorized(flat, lengths)


def _factorized(flat: np.ndarray, lengths: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(flat, sort=True)
    starts = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths):
        np.cumsum(lengths[:-1], out=starts[1:])
    return [str(c) for c in uniques], np.asarray(codes, dtype=np.int64), starts, lengths


def _raise_first_bad_path(raw_paths: list) -> None:
    for row, value in enumerate(raw_paths):
        try:
            _as_channels(value)
        except PathError as exc:
            raise PathError(exc.message, row=row, column="path", rule=exc.rule) from None


def _encode_text_paths(raw_paths: list) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray] | None:
    """Arrow string kernels for a column of text paths (no Python loop over rows or touches); None when the
    column is not all text (tuples: the Python route)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not raw_paths or not isinstance(raw_paths[0], str):
        return None
    try:
        text = pa.array(raw_paths, type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if text.null_count:
        return None
    parts = pc.split_pattern(text, PATH_SEP)
    # encode the raw tokens first: only the few distinct ones ("a", " a ", ...) need trimming
    raw_tokens = pc.dictionary_encode(parts.flatten())
    names = np.array(pc.utf8_trim_whitespace(raw_tokens.dictionary).to_pylist(), dtype=object)
    if (names == "").any():
        _raise_first_bad_path(raw_paths)
    channels, name_ids = np.unique(names, return_inverse=True)  # sorted channel names
    touches = name_ids[raw_tokens.indices.to_numpy(zero_copy_only=False)].astype(np.int64)
    lengths = pc.list_value_length(parts).to_numpy(zero_copy_only=False).astype(np.int64)
    starts = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths):
        np.cumsum(lengths[:-1], out=starts[1:])
    return [str(c) for c in channels], touches, starts, lengths


def _per_channel(enc: EncodedPaths, touch_weights: np.ndarray) -> pd.DataFrame:
    """Sum each touch's weight x its path's conversions and revenue per channel (every channel listed)."""
    path = enc.path_of_touch()
    n = len(enc.channels)
    conversions = np.bincount(enc.touches, weights=touch_weights * enc.conversions[path], minlength=n)
    revenue = np.bincount(enc.touches, weights=touch_weights * enc.revenue[path], minlength=n)
    return pd.DataFrame({"channel": enc.channels, "conversions": conversions, "revenue": revenue})


def _check_position_weights(weights: Sequence[float]) -> tuple[float, float, float]:
    if len(weights) != 3:
        raise ValueError(f"position weights must be three numbers (first, middle, last), got {list(weights)}")
    first, middle, last = (float(w) for w in weights)
    if min(first, middle, last) < 0 or not math.isclose(first + middle + last, 1.0, abs_tol=1e-9):
        raise ValueError(f"position weights must be non-negative and sum to 1, got {first:g}, {middle:g}, {last:g}")
    return first, middle, last


def touch_weights(
    paths: pd.DataFrame | EncodedPaths,
    model: str,
    direct_channel: str | None = "direct",
    position_weights: Sequence[float] = DEFAULT_POSITION_WEIGHTS,
) -> np.ndarray:
    """Each touch's share of its path's conversion under a heuristic model; the shares of a path sum to 1.

    - ``first_touch`` / ``last_touch``: 1 to the first / last touch.
    - ``last_non_direct``: 1 to the last touch whose channel is not ``direct_channel``; an all-direct path credits
      its last (direct) touch.
    - ``linear``: 1/n to each of the n touches (a channel touched twice gets 2/n).
    - ``position_based`` with weights (f, m, l): a 1-touch path gives it 1; a 2-touch path gives f/(f+l) and
      l/(f+l) (the middle share has nowhere to go, so first and last are scaled to sum to 1; halves if f+l = 0);
      longer paths give f to the first, l to the last and m/(n-2) to each middle touch.
    """
    enc = encode_paths(paths)
    pos = enc.position_of_touch()
    length = np.repeat(enc.lengths, enc.lengths)
    if model == "first_touch":
        return (pos == 0).astype(float)
    if model == "last_touch":
        return (pos == length - 1).astype(float)
    if model == "linear":
        return 1.0 / length
    if model == "position_based":
        first, middle, last = _check_position_weights(position_weights)
        ends = first + last
        two = (first / ends, last / ends) if ends > 0 else (0.5, 0.5)
        weights = np.where(pos == 0, first, np.where(pos == length - 1, last, middle / np.maximum(length - 2, 1)))
        weights = np.where(length == 2, np.where(pos == 0, two[0], two[1]), weights)
        return np.where(length == 1, 1.0, weights)
    if model == "last_non_direct":
        weights = np.zeros(len(enc.touches))
        if not len(enc.touches):
            return weights
        direct_id = enc.channels.index(direct_channel) if direct_channel in enc.channels else -1
        candidate = np.where(enc.touches != direct_id, np.arange(len(enc.touches)), -1)
        last_non_direct = np.maximum.reduceat(candidate, enc.starts)
        chosen = np.where(last_non_direct >= 0, last_non_direct, enc.starts + enc.lengths - 1)
        weights[chosen] = 1.0
        return weights
    raise ValueError(f"unknown heuristic model {model!r}; expected one of {', '.join(HEURISTIC_MODELS)}")


def heuristic(
    paths: pd.DataFrame | EncodedPaths,
    model: str,
    direct_channel: str = "direct",
    position_weights: Sequence[float] = DEFAULT_POSITION_WEIGHTS,
) -> pd.DataFrame:
    """Credit per channel under a heuristic model (see :func:`touch_weights`): columns ``channel``,
    ``conversions``, ``revenue``, one row per channel seen in the table, sorted by channel."""
    enc = encode_paths(paths)
    return _per_channel(enc, touch_weights(enc, model, direct_channel, position_weights))


def time_decay_weights(ages_days: np.ndarray | Sequence[float], half_life_days: float = 7.0) -> np.ndarray:
    """Time-decay shares of one conversion: a touch ``a`` days before the conversion weighs ``2 ** (-a / h)``,
    normalised so the shares sum to 1 (a touch one half-life older gets half the credit)."""
    ages = np.asarray(ages_days, dtype=float)
    if ages.ndim != 1 or not len(ages):
        raise ValueError("ages_days must be a non-empty 1-D sequence of touch ages in days")
    if not np.isfinite(ages).all() or (ages < 0).any():
        raise ValueError("touch ages must be finite and >= 0 days before the conversion")
    if not half_life_days > 0:
        raise ValueError(f"half_life_days must be > 0, got {half_life_days}")
    # shift by the youngest touch so that very old journeys do not underflow to 0/0
    weights = np.exp2(-(ages - ages.min()) / half_life_days)
    return weights / weights.sum()


@dataclass
class MarkovResult:
    """An order-k Markov attribution.

    ``removal_effects`` has ``channel, removal_effect, normalized`` (conversions) and ``revenue_removal_effect,
    revenue_normalized`` (the value-weighted chain); ``transitions`` has ``from_state, to_state, count,
    probability``; ``attribution`` is the aggregate allocation ``channel, conversions, revenue``.
    """

    order: int
    channels: list[str]
    conversion_probability: float
    removal_effects: pd.DataFrame
    transitions: pd.DataFrame
    attribution: pd.DataFrame
    value_per_journey: float = 0.0

    def removal_effect_map(self) -> dict[str, float]:
        """``{channel: removal_effect}``, the input :func:`per_conversion_shares` expects."""
        return dict(zip(self.removal_effects["channel"], self.removal_effects["removal_effect"], strict=True))


def _windows(enc: EncodedPaths, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Order-k states of every path: ``(state_code, path)`` per step, in path order.

    A state is a window of ``order`` consecutive touches (``n - order + 1`` windows on an n-touch path; a path
    shorter than the order is one state of all its touches). Consecutive equal states are merged (at order 1,
    ``a > a > b`` is ``a, b``). A window ``(c1, .., cm)`` is coded as the base-(C+1) number of digits ``ci + 1``,
    so windows of different lengths never collide.
    """
    base = len(enc.channels) + 1
    n_touches = len(enc.touches)
    digits = np.zeros(n_touches + order - 1, dtype=np.int64)
    digits[:n_touches] = enc.touches + 1
    ahead = np.zeros(n_touches, dtype=np.int64)  # the k touches from each position on, crossing path ends
    for j in range(order):
        ahead = ahead * base + digits[j : j + n_touches]
    windows = np.maximum(enc.lengths - order + 1, 1)
    paths = np.repeat(np.arange(enc.n_paths), windows)
    window_starts = np.zeros(len(windows), dtype=np.int64)
    if len(windows):
        np.cumsum(windows[:-1], out=window_starts[1:])
    first_touch = np.repeat(enc.starts - window_starts, windows) + np.arange(len(paths))
    # a path shorter than the order is one window of its own touches: drop the next paths' digits
    short = np.repeat(np.minimum(enc.lengths, order), windows) < order
    codes = ahead[first_touch]
    if short.any():
        width = np.repeat(enc.lengths, windows)[short]
        codes[short] //= base ** (order - width)
    new_path = np.ones(len(codes), dtype=bool)
    new_path[1:] = paths[1:] != paths[:-1]
    changed = np.ones(len(codes), dtype=bool)
    changed[1:] = codes[1:] != codes[:-1]
    keep = new_path | changed
    return codes[keep], paths[keep]


def _decode(code: int, base: int) -> list[int]:
    digits = []
    while code:
        code, digit = divmod(code, base)
        digits.append(digit - 1)
    return digits[::-1]


def _subset(enc: EncodedPaths, keep: np.ndarray) -> EncodedPaths:
    touch_keep = np.repeat(keep, enc.lengths)
    lengths = enc.lengths[keep]
    starts = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths):
        np.cumsum(lengths[:-1], out=starts[1:])
    return EncodedPaths(
        enc.channels,
        enc.touches[touch_keep],
        starts,
        lengths,
        enc.conversions[keep],
        enc.revenue[keep],
        enc.nulls[keep],
    )


def _dense_ids(codes: np.ndarray, code_space: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(codes, return_inverse=True)``, in linear time when the code space is small (it is for 10s of
    channels up to order 3)."""
    if code_space > 50_000_000:
        return np.unique(codes, return_inverse=True)
    present = np.bincount(codes, minlength=code_space) > 0
    dense = np.cumsum(present) - 1
    return np.flatnonzero(present), dense[codes]


def _count_matrix(frm: np.ndarray, to: np.ndarray, weights: np.ndarray, n_states: int) -> sparse.csr_matrix:
    """Weighted transition counts as a sparse ``n_states`` x ``n_states`` matrix (duplicates summed)."""
    if n_states * n_states <= 50_000_000:
        dense = np.bincount(frm * n_states + to, weights=weights, minlength=n_states * n_states)
        keys = np.flatnonzero(dense)
        return sparse.csr_matrix((dense[keys], (keys // n_states, keys % n_states)), shape=(n_states, n_states))
    matrix = sparse.coo_matrix((weights, (frm, to)), shape=(n_states, n_states)).tocsr()
    matrix.sum_duplicates()
    return matrix


def markov(
    paths: pd.DataFrame | EncodedPaths,
    order: int = 1,
    null_label: str = NULL_STATE,
    start_label: str = START_STATE,
    conversion_label: str = CONVERSION_STATE,
) -> MarkovResult:
    """Order-``order`` Markov attribution, solved exactly as an absorbing chain.

    Transient states are ``start`` and the order-k windows (:func:`_windows`); absorbing states are conversion and
    null. Every journey of a path walks ``start -> s1 -> ... -> sn`` and then to conversion (``conversions`` of them)
    or null (``nulls``); transition probabilities are the observed counts divided by the state's outgoing total.
    With ``Q`` the transient-to-transient block and ``r`` the one-step conversion probabilities, the conversion
    probability from every state is ``h = (I - Q)^-1 r``, and ``P = h[start]``. Removing channel c deletes every
    state containing c (their flow goes to null): ``P_c`` solves the same system on the remaining states, and the
    removal effect is ``RE_c = 1 - P_c / P`` (= the share of converting journeys that visit c). The aggregate
    allocation gives channel c ``total conversions x RE_c / sum RE``.

    Revenue uses the value-weighted chain (as ChannelAttribution does): the one-step reward of a state is the
    revenue of the conversions leaving it divided by its outgoing total, ``V = (I - Q)^-1 r_value`` (``V[start]``
    equals revenue per journey), ``RE^value_c = 1 - V_c / V`` and channel c gets ``total revenue x RE^value_c /
    sum RE^value``.
    """
    if not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
        raise ValueError(f"order must be 1 to {MAX_ORDER}, got {order!r}")
    enc = encode_paths(paths)
    total_conversions, total_revenue = float(enc.conversions.sum()), float(enc.revenue.sum())
    if total_conversions <= 0:
        raise PathError(
            "no conversions: the Markov model needs at least one converting journey", rule="has conversions"
        )
    enc_used = _subset(enc, (enc.conversions + enc.nulls) > 0)
    journeys = enc_used.conversions + enc_used.nulls

    codes, step_path = _windows(enc_used, order)
    state_codes, state_of_step = _dense_ids(codes, (len(enc.channels) + 1) ** order)
    n_states = len(state_codes) + 1  # index 0 is start
    state_of_step = state_of_step + 1
    first_step = np.ones(len(codes), dtype=bool)
    first_step[1:] = step_path[1:] != step_path[:-1]
    last_step = np.ones(len(codes), dtype=bool)
    last_step[:-1] = step_path[1:] != step_path[:-1]

    previous = np.where(first_step, 0, np.roll(state_of_step, 1))
    counts = _count_matrix(previous, state_of_step, journeys[step_path], n_states)
    last_state, last_path = state_of_step[last_step], step_path[last_step]
    to_conversion = np.bincount(last_state, weights=enc_used.conversions[last_path], minlength=n_states)
    to_null = np.bincount(last_state, weights=enc_used.nulls[last_path], minlength=n_states)
    value_out = np.bincount(last_state, weights=enc_used.revenue[last_path], minlength=n_states)
    outgoing = np.asarray(counts.sum(axis=1)).ravel() + to_conversion + to_null

    inverse_out = sparse.diags(1.0 / outgoing)
    system = (sparse.identity(n_states, format="csc") - inverse_out @ counts).tocsc()
    rewards = np.column_stack([to_conversion / outgoing, value_out / outgoing])
    base = splu(system).solve(rewards)[0]
    probability, value = float(base[0]), float(base[1])

    channel_count = len(enc.channels)
    radix = channel_count + 1
    decoded = [_decode(int(c), radix) for c in state_codes]
    contains = np.zeros((n_states, channel_count), dtype=bool)
    for state, members in enumerate(decoded, start=1):
        contains[state, members] = True
    removal = np.zeros((channel_count, 2))
    for channel in range(channel_count):
        kept = np.flatnonzero(~contains[:, channel])
        if len(kept) == n_states:
            continue  # channel not on any journey: nothing to remove
        reduced = system[kept][:, kept].tocsc()
        solved = splu(reduced).solve(rewards[kept])[0]  # kept[0] == start
        removal[channel, 0] = 1.0 - solved[0] / probability
        removal[channel, 1] = 1.0 - solved[1] / value if value > 0 else 0.0
    removal = np.clip(removal, 0.0, 1.0)  # round-off only: removing a channel never adds conversions
    sums = removal.sum(axis=0)
    normalized = np.divide(removal, sums, out=np.zeros_like(removal), where=sums > 0)

    removal_effects = pd.DataFrame(
        {
            "channel": enc.channels,
            "removal_effect": removal[:, 0],
            "normalized": normalized[:, 0],
            "revenue_removal_effect": removal[:, 1],
            "revenue_normalized": normalized[:, 1],
        }
    )
    attribution = pd.DataFrame(
        {
            "channel": enc.channels,
            "conversions": total_conversions * normalized[:, 0],
            "revenue": total_revenue * normalized[:, 1],
        }
    )
    labels = [start_label] + [format_path([enc.channels[c] for c in members]) for members in decoded]
    transitions = _transition_frame(
        counts.tocoo(), to_conversion, to_null, outgoing, labels, conversion_label, null_label
    )
    return MarkovResult(
        order=order,
        channels=list(enc.channels),
        conversion_probability=probability,
        removal_effects=removal_effects,
        transitions=transitions,
        attribution=attribution,
        value_per_journey=value,
    )


def _transition_frame(
    counts: sparse.coo_matrix,
    to_conversion: np.ndarray,
    to_null: np.ndarray,
    outgoing: np.ndarray,
    labels: list[str],
    conversion_label: str,
    null_label: str,
) -> pd.DataFrame:
    names = np.array([*labels, conversion_label, null_label], dtype=object)
    n = len(labels)
    states = np.arange(n)
    frm = np.concatenate([counts.row, states, states])
    to = np.concatenate([counts.col, np.full(n, n), np.full(n, n + 1)])
    count = np.concatenate([counts.data, to_conversion, to_null])
    used = count > 0
    frame = pd.DataFrame(
        {
            "from_state": names[frm[used]],
            "to_state": names[to[used]],
            "count": count[used],
            "probability": count[used] / outgoing[frm[used]],
        }
    )
    return frame.sort_values(["from_state", "to_state"], ignore_index=True)


def _path_channel_pairs(
    paths: Sequence[Sequence[str]], removal_effects: Mapping[str, float]
) -> tuple[EncodedPaths, np.ndarray, np.ndarray, np.ndarray]:
    channels, touches, starts, lengths = _encode_path_column(list(paths))
    zeros = np.zeros(len(lengths))
    enc = EncodedPaths(channels, touches, starts, lengths, zeros, zeros, zeros)
    unknown = sorted(set(enc.channels) - set(removal_effects))
    if unknown:
        raise ValueError(f"no removal effect for channel(s) {', '.join(unknown)}")
    effect = np.array([float(removal_effects[c]) for c in enc.channels])
    if len(effect) and (~np.isfinite(effect) | (effect < 0)).any():
        raise ValueError("removal effects must be finite and >= 0")
    channel_count = max(len(enc.channels), 1)
    pairs = np.unique(enc.path_of_touch() * channel_count + enc.touches)  # distinct (path, channel), sorted
    path, channel = pairs // channel_count, pairs % channel_count
    weight = effect[channel]
    total = np.bincount(path, weights=weight, minlength=enc.n_paths)
    distinct = np.bincount(path, minlength=enc.n_paths)
    share = np.where(total[path] > 0, weight / np.where(total[path] > 0, total[path], 1.0), 1.0 / distinct[path])
    return enc, path, channel, share


def per_conversion_share_frame(paths: Sequence[Sequence[str]], removal_effects: Mapping[str, float]) -> pd.DataFrame:
    """The per-conversion Markov allocation, vectorised: for each path (position ``path_index`` in ``paths``) and
    each DISTINCT channel on it, ``share = RE_channel / sum of RE over the path's distinct channels``; a path whose
    channels all have RE 0 splits equally among them. Shares of a path sum to 1. Columns ``path_index, channel,
    share``, sorted by path then channel."""
    enc, path, channel, share = _path_channel_pairs(paths, removal_effects)
    names = np.array(enc.channels, dtype=object)
    return pd.DataFrame({"path_index": path, "channel": names[channel], "share": share})


def per_conversion_shares(
    paths: Sequence[Sequence[str]], removal_effects: Mapping[str, float]
) -> list[dict[str, float]]:
    """:func:`per_conversion_share_frame` as one ``{channel: share}`` dict per path, in input order."""
    enc, path, channel, share = _path_channel_pairs(paths, removal_effects)
    out: list[dict[str, float]] = [{} for _ in range(enc.n_paths)]
    for p, c, s in zip(path.tolist(), channel.tolist(), share.tolist(), strict=True):
        out[p][enc.channels[c]] = s
    return out


def markov_per_conversion(paths: pd.DataFrame | EncodedPaths, result: MarkovResult) -> pd.DataFrame:
    """Totals of the per-conversion allocation: every path's conversions and revenue split over its distinct
    channels by :func:`per_conversion_share_frame` with ``result``'s (conversion) removal effects."""
    enc = encode_paths(paths)
    effects = result.removal_effect_map()
    channel_paths = [
        tuple(enc.channels[c] for c in enc.touches[s : s + n]) for s, n in zip(enc.starts, enc.lengths, strict=True)
    ]
    shares = per_conversion_share_frame(channel_paths, effects)
    path = shares["path_index"].to_numpy()
    shares = shares.assign(
        conversions=shares["share"] * enc.conversions[path], revenue=shares["share"] * enc.revenue[path]
    )
    totals = shares.groupby("channel")[["conversions", "revenue"]].sum()
    return totals.reindex(enc.channels, fill_value=0.0).rename_axis("channel").reset_index()


@dataclass
class PathAttribution:
    """Every model on one journey table: ``attribution`` (``model, channel, conversions, revenue``) and the
    Markov results by order."""

    attribution: pd.DataFrame
    markov: dict[int, MarkovResult]

    def removal_effects(self) -> pd.DataFrame:
        frames = [r.removal_effects.assign(order=o) for o, r in sorted(self.markov.items())]
        return pd.concat(frames, ignore_index=True)[["order", *REMOVAL_EFFECT_COLUMNS]]

    def transitions(self) -> pd.DataFrame:
        frames = [r.transitions.assign(order=o) for o, r in sorted(self.markov.items())]
        return pd.concat(frames, ignore_index=True)[["order", *TRANSITION_COLUMNS]]


def model_names(orders: Sequence[int] = (1, 2, 3)) -> list[str]:
    """Model names in output order: the heuristics, then ``markov_<k>``."""
    return [*HEURISTIC_MODELS, *(f"markov_{k}" for k in orders)]


def attribute_all(
    paths: pd.DataFrame | EncodedPaths,
    orders: Sequence[int] = (1, 2, 3),
    direct_channel: str = "direct",
    position_weights: Sequence[float] = DEFAULT_POSITION_WEIGHTS,
) -> PathAttribution:
    """Every model except time decay (it needs touch times) on one journey table; the table is encoded once."""
    enc = encode_paths(paths)
    _check_position_weights(position_weights)
    frames = [heuristic(enc, m, direct_channel, position_weights).assign(model=m) for m in HEURISTIC_MODELS]
    results = {k: markov(enc, order=k) for k in sorted(set(orders))}
    frames += [results[k].attribution.assign(model=f"markov_{k}") for k in sorted(results)]
    table = pd.concat(frames, ignore_index=True)[["model", *_RESULT_COLUMNS]]
    return PathAttribution(attribution=table, markov=results)


def attribute_paths(
    paths: pd.DataFrame | EncodedPaths,
    orders: Sequence[int] = (1, 2, 3),
    direct_channel: str = "direct",
    position_weights: Sequence[float] = DEFAULT_POSITION_WEIGHTS,
) -> pd.DataFrame:
    """``model, channel, conversions, revenue`` for the heuristics and ``markov_<k>`` (aggregate allocation) for
    each order in ``orders``; models in :func:`model_names` order, channels sorted within each model."""
    return attribute_all(paths, orders, direct_channel, position_weights).attribution
