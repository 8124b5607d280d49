"""``python -m spark_jobs.forecast [options]``: the same command as ``lakehouse forecast``."""

from lakehouse.cli import forecast

if __name__ == "__main__":
    forecast(prog_name="python -m spark_jobs.forecast")
