"""Marketplace simulator: the source systems' files in the landing zone, with a known ground truth.

``generate(out, scale="tiny", seed=42)`` writes a world; ``generate(out, next_day=True)`` appends a day.
``load_ground_truth(out)`` reads what was planted. FORMATS.md documents every landing file.
"""

from simulator.generate import RunSummary, SimulatorError, generate, load_ground_truth
from simulator.world import SCALES

__all__ = ["SCALES", "RunSummary", "SimulatorError", "generate", "load_ground_truth"]
