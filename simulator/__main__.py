"""``python -m simulator ...``: the same command as ``lakehouse simulate``, in its own process.

Polars is pinned to one thread here: the simulator's per-day frames are small, so polars' thread pool costs
more than it gains, and the second core is left to the gzip writer thread (measured: tiny 8.8 s -> 6.3 s).
"""

import os

os.environ["POLARS_MAX_THREADS"] = "1"

from simulator.cli import simulate

if __name__ == "__main__":
    simulate(prog_name="python -m simulator")
