"""Deterministic randomness: per-day generators from (seed, day, stream) and stateless integer hashing."""

from __future__ import annotations

from datetime import date

import numpy as np

_HEX = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), dtype=np.uint8).reshape(256, 2)

# stream ids: one independent generator per concern and day
STREAMS = {
    "world": 1,
    "demand": 2,
    "orders": 3,
    "journeys": 4,
    "sessions": 5,
    "shipping": 6,
    "inventory": 7,
    "ads": 8,
    "fx": 9,
    "defects": 10,
    "files": 11,
    "customers": 12,
}


def day_rng(seed: int, day: date, stream: str) -> np.random.Generator:
    """Generator for one concern on one day; independent of how many days were generated before."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(day.toordinal(), STREAMS[stream])))


def world_rng(seed: int, part: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, STREAMS["world"], part)))


def mix64(x: np.ndarray | int) -> np.ndarray:
    """splitmix64 finaliser: a bijection on uint64, so distinct inputs give distinct outputs."""
    z = np.asarray(x, dtype=np.uint64).copy()
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def hash_uniform(*keys: np.ndarray | int) -> np.ndarray:
    """Uniform [0, 1) numbers from integer keys, stateless (same keys, same numbers)."""
    h = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        for k in keys:
            h = mix64(np.asarray(k).astype(np.uint64) ^ (h * np.uint64(31)))
    return (np.asarray(h) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def hex_ids(x: np.ndarray, salt: int, width: int = 16) -> np.ndarray:
    """Unique-looking lowercase hex ids of ``width`` chars for distinct uint64 counters."""
    with np.errstate(over="ignore"):
        h = mix64(np.asarray(x, dtype=np.uint64) ^ np.uint64(salt & 0xFFFFFFFFFFFFFFFF))
    raw = h.astype(">u8").view(np.uint8).reshape(-1, 8)
    chars = _HEX[raw].reshape(-1, 16)
    return chars[:, 16 - width :].copy().view(f"S{width}").ravel().astype(f"U{width}")


def permute_digits(x: np.ndarray, digits: int, salt: int) -> np.ndarray:
    """A bijection of counters onto ``digits``-digit numbers (affine map mod 10**digits)."""
    mod = 10**digits
    mult = 7_919_393 if digits > 7 else 7_919
    return ((np.asarray(x, dtype=np.int64) % mod) * mult + salt % mod) % mod if digits <= 12 else _big(x, digits, salt)


def _big(x: np.ndarray, digits: int, salt: int) -> np.ndarray:
    # wide numbers: a permuted 12-digit body with a salted prefix keeps ids unique and fixed-width
    return permute_digits(x, 12, salt) + (salt % 10 ** (digits - 12)) * 10**12
