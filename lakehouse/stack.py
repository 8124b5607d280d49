"""``lakehouse up`` / ``lakehouse down``: the local SMTP server, Airflow's three services and Superset, started in
that order (tasks mail through SMTP; Superset serves the published warehouse) and each waited for until healthy.

Superset needs a published warehouse (its row-level security names a demo seller from it): before the first
publish ``up`` says so and ``lakehouse run`` starts it after the pipeline published.
"""

from __future__ import annotations

from collections.abc import Callable

from lakehouse.settings import Settings, get_settings


def up(settings: Settings | None = None, echo: Callable[[str], None] = print, superset: bool = True) -> dict[str, str]:
    """Start every service (idempotent); returns service -> URL of those started."""
    import time

    from lakehouse import airflow_services
    from lakehouse import superset as superset_service
    from reports import smtp_server

    settings = settings or get_settings()
    settings.paths.ensure()
    urls: dict[str, str] = {}
    t0 = time.monotonic()
    pid = smtp_server.up(settings)
    urls["smtp"] = f"smtp://127.0.0.1:{settings.smtp_port}"
    echo(f"smtp: listening on 127.0.0.1:{settings.smtp_port} (pid {pid}); mail is stored in {settings.paths.mail}")
    pids = airflow_services.start(settings, echo=echo)
    urls["airflow"] = airflow_services.url(settings)
    echo(f"airflow: healthy on {urls['airflow']} (pids {', '.join(map(str, pids.values()))}; "
         f"{time.monotonic() - t0:.0f}s)")  # fmt: skip
    if superset:
        if settings.paths.warehouse_file.exists():
            urls["superset"] = superset_service.up(settings, echo=echo)
        else:
            echo("superset: waits for the first published warehouse (`lakehouse run` starts it after publishing)")
    return urls


def down(settings: Settings | None = None) -> dict[str, int]:
    """Stop every service ``lakehouse`` started (by pid file): service -> pid of those stopped."""
    from lakehouse import airflow_services
    from lakehouse.services import running_services, stop_all

    settings = settings or get_settings()
    before = running_services(settings)
    stopped = airflow_services.stop(settings)  # the scheduler first: no task starts while the rest goes
    stopped += stop_all(settings)
    return {name: before.get(name, 0) for name in stopped}
