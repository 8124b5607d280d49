"""Which reports are due at a given hour: each seller at 09:00 in its own time zone — enterprise daily, everyone
weekly on Mondays, pro and enterprise monthly on the 1st — plus the executive digest on Mondays at 09:00 in the
reporting time zone. Pure functions of the hour and the sellers, for the hourly ``seller_reports`` DAG.

After a publish the DAG also sends what is *overdue*: each seller's latest period whose send time has passed
(the delivery log skips those already sent), so a report held back because no good warehouse was published at
09:00 goes out with the first publish after it, and a new deployment's first publish fills the mailboxes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from lakehouse.settings import Settings, get_settings

SEND_HOUR = 9
BATCH_SIZE = 25


class NotPublishedError(RuntimeError):
    """There is no successfully published warehouse to report from."""


def due_periods(plan_tier: str, timezone: str, at: datetime) -> list[str]:
    """The report periods due for one seller in the hour starting at ``at`` (UTC-aware)."""
    local = at.astimezone(ZoneInfo(timezone))
    if local.hour != SEND_HOUR:
        return []
    periods = []
    if plan_tier == "enterprise":
        periods.append("day")
    if local.weekday() == 0:
        periods.append("week")
    if local.day == 1 and plan_tier in ("pro", "enterprise"):
        periods.append("month")
    return periods


def overdue_periods(plan_tier: str, timezone: str, at: datetime) -> list[str]:
    """The periods whose latest report's send time (09:00 local on its due day) is at or before ``at``."""
    local = at.astimezone(ZoneInfo(timezone))
    sent_today = local.hour >= SEND_HOUR
    periods = []
    if plan_tier == "enterprise" and sent_today:
        periods.append("day")
    if local.weekday() > 0 or sent_today:
        periods.append("week")
    if plan_tier in ("pro", "enterprise") and (local.day > 1 or sent_today):
        periods.append("month")
    return periods


def due_batches(
    sellers: list[dict], at: datetime, batch_size: int = BATCH_SIZE, periods: Callable = due_periods
) -> list[dict]:
    """``[{"period": p, "sellers": [ids...]}, ...]`` in batches of at most ``batch_size`` sellers; ``periods``
    (:func:`due_periods` or :func:`overdue_periods`) says which periods a seller gets."""
    by_period: dict[str, list[str]] = {}
    for s in sellers:
        for period in periods(str(s["plan_tier"]), str(s["seller_timezone"]), at):
            by_period.setdefault(period, []).append(str(s["seller_id"]))
    batches = []
    for period in ("day", "week", "month"):
        ids = sorted(by_period.get(period, []))
        batches += [{"period": period, "sellers": ids[i : i + batch_size]} for i in range(0, len(ids), batch_size)]
    return batches


def digest_due(at: datetime, settings: Settings | None = None) -> bool:
    settings = settings or get_settings()
    local = at.astimezone(settings.tz)
    return local.weekday() == 0 and local.hour == SEND_HOUR


def require_published(settings: Settings | None = None) -> dict:
    """The publish manifest of the warehouse readers see; raises unless it exists and its quality gate passed
    (status ``pass`` or ``warn``)."""
    from lakehouse.warehouse import files

    settings = settings or get_settings()
    f = files(settings)
    if not f.published.exists() or not f.manifest.exists():
        raise NotPublishedError(f"no published warehouse at {f.published}: reports wait for `lakehouse publish`")
    manifest = json.loads(f.manifest.read_text())
    status = (manifest.get("quality") or {}).get("status")
    if status not in ("pass", "warn"):  # publish refuses errors; warnings are reported, not blocking
        raise NotPublishedError(f"the published warehouse's quality status is {status!r}: {f.manifest}")
    return manifest


def due_now(at: datetime, settings: Settings | None = None, overdue: bool = False) -> list[dict]:
    """Batches due at ``at`` for the active sellers of the published warehouse (``overdue``: every period whose
    send time has passed by ``at``; the delivery log then skips what was already sent)."""
    from lakehouse.duck import session
    from reports.data import sellers

    settings = settings or get_settings()
    require_published(settings)
    with session(settings=settings, lake=False) as con:
        rows = sellers(con).to_dict("records")
    return due_batches(rows, at, periods=overdue_periods if overdue else due_periods)
