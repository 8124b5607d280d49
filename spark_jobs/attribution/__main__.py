"""``python -m spark_jobs.attribution [--master URL] [--lookback-days N] [--order K] ...``: the attribution job as a
Spark application (also what ``spark-submit spark_jobs/attribution/__main__.py`` runs). Prints progress and, last,
the JSON summary."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    from lakehouse.settings import get_settings
    from spark_jobs.attribution.job import DEFAULT_ORDER, run

    parser = argparse.ArgumentParser(prog="python -m spark_jobs.attribution", description=__doc__)
    parser.add_argument("--master", help="Spark master URL (default LAKEHOUSE_SPARK_MASTER, local[*])")
    parser.add_argument("--lookback-days", type=int, help="default LAKEHOUSE_ATTRIBUTION_LOOKBACK_DAYS (30)")
    parser.add_argument("--order", type=int, default=DEFAULT_ORDER, help="highest Markov order, 1 to 3 (default 3)")
    parser.add_argument(
        "--position-weights", default="0.4,0.2,0.4", help="first,middle,last weights of position_based (sum 1)"
    )
    parser.add_argument("--half-life-days", type=float, default=7.0, help="time-decay half-life (default 7)")
    args = parser.parse_args(argv)
    try:
        weights = tuple(float(w) for w in args.position_weights.split(","))
    except ValueError:
        parser.error(f"--position-weights {args.position_weights!r}: expected three numbers such as 0.4,0.2,0.4")
    summary = run(
        get_settings(),
        master=args.master,
        lookback_days=args.lookback_days,
        order=args.order,
        position_weights=weights,
        half_life_days=args.half_life_days,
    )
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
