"""Thresholds: ``expectations/thresholds.yml`` read and checked (callers may pass their own dict instead)."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

import yaml  # type: ignore[import-untyped]  # no stubs in the lock file

from expectations.checks import LAYERS, SEVERITIES, CheckConfig

THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.yml"


class ThresholdsError(ValueError):
    """thresholds.yml is malformed."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a mapping key given twice (plain YAML keeps the last one silently, so a second
    ``gold:`` section would drop the first one's checks)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ThresholdsError(
                    f"{self.name}: line {key_node.start_mark.line + 1}: key {key!r} repeats the one on line {seen[key]}"
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> dict:
    with open(path, encoding="utf-8") as stream:
        data = yaml.load(stream, Loader=_UniqueKeyLoader) or {}
    for layer, checks in data.items():
        if layer not in LAYERS:
            raise ThresholdsError(f"{path}: unknown layer {layer!r}; expected one of {', '.join(LAYERS)}")
        for name, section in (checks or {}).items():
            for table, entry in (section.get("tables") or {}).items():
                for key in SEVERITIES:
                    band = (entry or {}).get(key, (section.get("defaults") or {}).get(key))
                    if band is not None and not isinstance(band, dict):
                        raise ThresholdsError(f"{path}: {layer}.{name}.{table}.{key} must be a mapping (min/max)")
    return data


def load_thresholds(path: Path | None = None) -> dict:
    """The whole thresholds file: ``{layer: {check: {description, defaults, tables, ...}}}`` (a copy: change
    it freely, e.g. to pass adjusted thresholds to ``run_checks``)."""
    path = path or THRESHOLDS_FILE
    return copy.deepcopy(_load(str(path), path.stat().st_mtime))


def check_config(layer: str, check: str, thresholds: dict | None = None) -> CheckConfig:
    thresholds = load_thresholds() if thresholds is None else thresholds
    return CheckConfig(check, dict((thresholds.get(layer) or {}).get(check) or {}))
