"""PNG charts for the reports (matplotlib's object API with the Agg canvas: no pyplot state, thread-safe).

Titles use the report's language; Noto Sans CJK (fonts-noto-cjk) is put first in the font list so Chinese
titles render instead of boxes.
"""

from __future__ import annotations

import io
from functools import lru_cache

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from reports.data import ReportData
from reports.i18n import Lang

CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)
COLOR = "#2f6db5"
COLOR_MUTED = "#b8c7dc"


@lru_cache(maxsize=1)
def font_family() -> list[str]:
    families = []
    for path in CJK_FONT_FILES:
        try:
            font_manager.fontManager.addfont(path)
            families.append(font_manager.FontProperties(fname=path).get_name())
            break
        except (OSError, RuntimeError):
            continue
    return [*families, "DejaVu Sans"]


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def _figure() -> Figure:
    fig = Figure(figsize=(6.4, 2.6))
    return fig


def daily_gmv(data: ReportData, lang: Lang) -> bytes:
    fig = _figure()
    ax = fig.add_subplot()
    family = font_family()
    days = data.daily
    labels = [d.strftime("%m-%d") for d in days.date_seller]
    ax.bar(labels, days.gmv_home.astype(float), color=COLOR)
    ax.set_title(f"{lang.t('chart_daily')} ({data.currency})", fontfamily=family, fontsize=11)
    ax.tick_params(axis="x", labelrotation=45 if len(labels) > 10 else 0, labelsize=7)
    ax.tick_params(axis="y", labelsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _png(fig)


def sku_gmv(data: ReportData, lang: Lang, top: int = 8) -> bytes:
    fig = _figure()
    ax = fig.add_subplot()
    family = font_family()
    skus = data.skus.head(top).iloc[::-1]
    ax.barh(
        skus.sku.astype(str),
        skus.gmv_home.astype(float),
        color=[COLOR if v > 0 else COLOR_MUTED for v in skus.gmv_home],
    )
    ax.set_title(f"{lang.t('chart_skus')} ({data.currency})", fontfamily=family, fontsize=11)
    ax.tick_params(labelsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _png(fig)


def charts(data: ReportData, lang: Lang) -> dict[str, bytes]:
    """name -> PNG bytes; names are the HTML's content ids."""
    out = {"daily_gmv": daily_gmv(data, lang)}
    if not data.skus.empty:
        out["sku_gmv"] = sku_gmv(data, lang)
    return out
